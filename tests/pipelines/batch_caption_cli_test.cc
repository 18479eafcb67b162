// `vamba caption` end to end on the tiny checkpoint: a folder of clips made with the ffmpeg CLI
// plus one corrupt file gives one error line and correct captions for the rest (equal to `vamba
// ask` on the same segment), the exit status counts the failures; a run killed with SIGKILL after
// its first line and then re-run (with a torn last line added, as a crash mid-write leaves it)
// ends with every video exactly once; shards 1/2 and 2/2 together are exactly the whole run.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "tests/pipelines/cli_child.h"
#include "tests/testing/golden.h"
#include "tests/vision/test_clips.h"

namespace vamba {
namespace {

namespace fs = std::filesystem;
using testing::read_text;
using testing::run_child;
using testing::run_ffmpeg;
using testing::scratch_dir;

const char* kPrompt = "Describe what happens in this part of the video.";

// The clips: four generated sources, each also copied under two more names (12 good videos, so a
// run takes long enough to be killed in the middle), and one corrupt file.
struct Clips {
  std::string dir;
  std::vector<std::string> good;
  std::string broken;
  bool ok = false;
};

const Clips& clips() {
  static const Clips c = [] {
    Clips c;
    c.dir = scratch_dir() + "/clips";
    fs::create_directories(c.dir + "/more");
    const std::vector<std::pair<std::string, std::string>> sources = {
        {"a.mp4", "testsrc=size=160x120:rate=10 -t 2"},
        {"b.mkv", "smptebars=size=160x120:rate=10 -t 2"},
        {"c.mp4", "rgbtestsrc=size=160x120:rate=10 -t 1.5"},
        {"more/d.ts", "testsrc2=size=160x120:rate=10 -t 2"},
    };
    for (const auto& [name, src] : sources) {
      const std::string path = c.dir + "/" + name;
      if (!run_ffmpeg("-f lavfi -i " + src + " -c:v libx264 -preset ultrafast -pix_fmt yuv420p \"" +
                      path + "\"")) {
        return c;
      }
      c.good.push_back(path);
      const fs::path p(path);
      for (int k = 1; k <= 2; ++k) {
        const std::string copy = (p.parent_path() / (p.stem().string() + "_copy" +
                                                     std::to_string(k) + p.extension().string()))
                                     .string();
        fs::copy_file(path, copy, fs::copy_options::overwrite_existing);
        c.good.push_back(copy);
      }
    }
    c.broken = c.dir + "/broken.mp4";
    std::ofstream(c.broken) << std::string(5000, 'x') << "not a video";
    std::sort(c.good.begin(), c.good.end());
    c.ok = true;
    return c;
  }();
  return c;
}

std::vector<std::string> caption_args(const std::string& input, const std::string& out) {
  return {VAMBA_CLI_PATH,     "caption", "--model",        testing::golden_path("vamba-tiny"),
          "--input",          input,     "--out",          out,
          "--segment",        "1s",      "--frames",       "2",
          "--max-new-tokens", "3",       "--device",       "cpu",
          "--shortest-edge",  "56",      "--longest-edge", "112"};
}

std::vector<nlohmann::json> read_lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::istringstream in(read_text(path));
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

// path -> the record without what differs from run to run: timings, and the error text past its
// code (FFmpeg's log line in it names an object address).
std::map<std::string, nlohmann::json> by_path(const std::vector<nlohmann::json>& lines) {
  std::map<std::string, nlohmann::json> out;
  for (nlohmann::json j : lines) {
    j.erase("timings");
    if (j.contains("error")) {
      const std::string text = j["error"];
      j["error"] = text.substr(0, text.find(':'));
    }
    EXPECT_EQ(out.count(j["path"].get<std::string>()), 0u) << "duplicate " << j["path"];
    out[j["path"].get<std::string>()] = j;
  }
  return out;
}

class CaptionCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::ffmpeg_available() || !clips().ok)
      GTEST_FAIL() << "the ffmpeg CLI could not make the clips";
  }
  // The uninterrupted run over the whole folder, made once.
  static const std::map<std::string, nlohmann::json>& whole() {
    static const std::map<std::string, nlohmann::json> w = [] {
      const std::string out = scratch_dir() + "/whole.jsonl";
      const testing::ChildResult r = run_child(caption_args(clips().dir, out));
      EXPECT_EQ(r.exit_code, 1) << r.err;
      EXPECT_NE(r.err.find("1 of 13 videos failed"), std::string::npos) << r.err;
      return by_path(read_lines(out));
    }();
    return w;
  }
};

TEST_F(CaptionCli, OneErrorLineAndCorrectCaptions) {
  const auto& w = whole();
  ASSERT_EQ(w.size(), clips().good.size() + 1);
  const nlohmann::json& bad = w.at(clips().broken);
  ASSERT_TRUE(bad.contains("error")) << bad.dump();
  EXPECT_EQ(bad["error"], "INVALID_ARGUMENT");
  for (const std::string& path : clips().good) {
    const nlohmann::json& j = w.at(path);
    ASSERT_FALSE(j.contains("error")) << j.dump();
    const double duration = j["duration"].get<double>();
    const auto& segs = j["segments"];
    // 1 s segments; a tail under 0.5 s joins the segment before it.
    size_t want = static_cast<size_t>(std::ceil(duration - 1e-6));
    if (want >= 2 && duration - static_cast<double>(want - 1) < 0.5) --want;
    ASSERT_EQ(segs.size(), want) << j.dump();
    double t = 0;
    for (const auto& s : segs) {
      EXPECT_NEAR(s["start"].get<double>(), t, 1e-6);
      EXPECT_GT(s["end"].get<double>(), s["start"].get<double>());
      EXPECT_EQ(s["frames"].get<int64_t>(), 2);
      EXPECT_TRUE(s["caption"].is_string());
      t = s["end"].get<double>();
    }
    EXPECT_NEAR(t, duration, 1e-3);
  }
  // A segment's caption is what `vamba ask` says about that segment with the same settings.
  const std::string& clip = clips().good.front();
  const testing::ChildResult ask = run_child({VAMBA_CLI_PATH,
                                              "ask",
                                              "--model",
                                              testing::golden_path("vamba-tiny"),
                                              "--video",
                                              clip,
                                              "--start",
                                              "1",
                                              "--end",
                                              "2",
                                              "--frames",
                                              "2",
                                              "--max-new-tokens",
                                              "3",
                                              "--device",
                                              "cpu",
                                              "--shortest-edge",
                                              "56",
                                              "--longest-edge",
                                              "112",
                                              "--json",
                                              kPrompt});
  ASSERT_EQ(ask.exit_code, 0) << ask.err;
  const nlohmann::json answer = nlohmann::json::parse(ask.out);
  EXPECT_EQ(w.at(clip)["segments"][1]["caption"], answer["answer"]);
}

TEST_F(CaptionCli, KilledRunResumesWithoutLossOrDuplicates) {
  const auto& w = whole();
  const std::string out = scratch_dir() + "/killed.jsonl";
  const pid_t pid =
      testing::spawn_child(caption_args(clips().dir, out), scratch_dir() + "/killed.stdout",
                           scratch_dir() + "/killed.stderr");
  ASSERT_GT(pid, 0);
  // Kill -9 as soon as the first line is in the file.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (read_text(out).find('\n') == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(pid, SIGKILL);
  EXPECT_EQ(testing::wait_child(pid), -1);
  const size_t lines_at_kill = read_lines(out).size();
  EXPECT_GE(lines_at_kill, 1u);
  EXPECT_LT(lines_at_kill, w.size()) << "the run finished before it could be killed";
  // A crash in the middle of a write leaves a torn last line.
  std::ofstream(out, std::ios::app) << R"({"path": ")" << clips().good.back() << R"(", "dura)";

  const testing::ChildResult r = run_child(caption_args(clips().dir, out));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("1 of 13 videos failed"), std::string::npos) << r.err;
  const auto resumed = by_path(read_lines(out));  // also fails on a duplicate
  ASSERT_EQ(resumed.size(), w.size());
  for (const auto& [path, record] : w) EXPECT_EQ(resumed.at(path), record) << path;

  // Once everything is done, a re-run changes nothing.
  const std::string before = read_text(out);
  const testing::ChildResult again = run_child(caption_args(clips().dir, out));
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(read_text(out), before);
}

TEST_F(CaptionCli, ShardsTogetherAreTheWholeRun) {
  const auto& w = whole();
  std::map<std::string, nlohmann::json> merged;
  int failing_shards = 0;
  for (const char* shard : {"1/2", "2/2"}) {
    const std::string out = scratch_dir() + "/shard" + std::string(1, shard[0]) + ".jsonl";
    std::vector<std::string> args = caption_args(clips().dir, out);
    args.push_back("--shard");
    args.push_back(shard);
    const testing::ChildResult r = run_child(args);
    ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.err;
    failing_shards += r.exit_code;
    const auto part = by_path(read_lines(out));
    EXPECT_FALSE(part.empty()) << "shard " << shard << " got no videos";
    for (const auto& [path, record] : part) {
      EXPECT_EQ(merged.count(path), 0u) << path << " is in both shards";
      merged[path] = record;
    }
  }
  EXPECT_EQ(failing_shards, 1);  // only the shard holding broken.mp4 reports a failure
  EXPECT_EQ(merged, w);
}

TEST_F(CaptionCli, BadArgumentsExitTwo) {
  const std::string out = scratch_dir() + "/bad.jsonl";
  std::vector<std::string> args = caption_args(clips().dir, out);
  args.push_back("--shard");
  args.push_back("3/2");
  EXPECT_EQ(run_child(args).exit_code, 2);
  args = caption_args(scratch_dir() + "/no_such_folder", out);
  EXPECT_EQ(run_child(args).exit_code, 2);
}

}  // namespace
}  // namespace vamba
