// `vamba stream` end to end on the tiny checkpoint: an MPEG-TS stream piped in from the ffmpeg CLI
// (testsrc) gives captions on the --caption-every grid with increasing timestamps, standing
// answers when due, and an end line; a window keeps the held video tokens bounded; a file that
// grows while it is read (--follow) is ingested to its end.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <sstream>
#include <thread>

#include "tests/pipelines/cli_child.h"
#include "tests/testing/golden.h"
#include "tests/vision/test_clips.h"

namespace vamba {
namespace {

using testing::run_shell;
using testing::scratch_dir;

std::string stream_command(const std::string& source, const std::string& extra) {
  return std::string(VAMBA_CLI_PATH) + " stream --model " + testing::golden_path("vamba-tiny") +
         " --source " + source +
         " --fps 2 --max-new-tokens 3 --device cpu --shortest-edge 56 --longest-edge 112 " + extra;
}

// testsrc for `seconds` as MPEG-TS on stdout.
std::string ffmpeg_ts(double seconds, const std::string& output = "-") {
  return std::string(VAMBA_FFMPEG_EXE) +
         " -hide_banner -loglevel error -nostdin -f lavfi -i testsrc=size=160x120:rate=10 -t " +
         std::to_string(seconds) +
         " -c:v libx264 -preset ultrafast -g 5 -bf 0 -pix_fmt yuv420p -f mpegts " + output;
}

struct Events {
  std::vector<nlohmann::json> captions, answers, ends;
};

Events parse(const std::string& out) {
  Events e;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const nlohmann::json j = nlohmann::json::parse(line);
    const std::string type = j["type"];
    if (type == "caption") e.captions.push_back(j);
    if (type == "answer") e.answers.push_back(j);
    if (type == "end") e.ends.push_back(j);
  }
  return e;
}

class StreamCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::ffmpeg_available()) GTEST_FAIL() << "the ffmpeg CLI is needed for the stream";
  }
};

TEST_F(StreamCli, PipeGivesCaptionsWithIncreasingTimestamps) {
  int status = 0;
  const std::string out = run_shell(
      ffmpeg_ts(6) + " | " +
          stream_command("pipe:0", "--caption-every 2s --ask 'What is shown?' --every 3s"),
      &status);
  ASSERT_EQ(status, 0) << out;
  const Events e = parse(out);
  ASSERT_EQ(e.captions.size(), 3u) << out;
  for (size_t k = 0; k < e.captions.size(); ++k) {
    EXPECT_NEAR(e.captions[k]["start"].get<double>(), 2.0 * k, 1e-6);
    EXPECT_NEAR(e.captions[k]["end"].get<double>(), 2.0 * (k + 1), 1e-6);
    EXPECT_EQ(e.captions[k]["frames"].get<int64_t>(), 4);
    EXPECT_TRUE(e.captions[k]["text"].is_string());
  }
  ASSERT_EQ(e.answers.size(), 2u) << out;
  EXPECT_NEAR(e.answers[0]["at"].get<double>(), 3.0, 1e-6);
  EXPECT_NEAR(e.answers[1]["at"].get<double>(), 6.0, 1e-6);
  EXPECT_EQ(e.answers[0]["question"], "What is shown?");
  ASSERT_EQ(e.ends.size(), 1u);
  EXPECT_NEAR(e.ends[0]["duration"].get<double>(), 6.0, 1e-6);
  EXPECT_EQ(e.ends[0]["frames"].get<int64_t>(), 12);
  EXPECT_EQ(e.ends[0]["video_tokens_dropped"].get<int64_t>(), 0);
}

TEST_F(StreamCli, WindowBoundsTheHeldTokens) {
  int status = 0;
  const std::string out = run_shell(
      ffmpeg_ts(6) + " | " + stream_command("-", "--caption-every 2s --window-tokens 30"), &status);
  ASSERT_EQ(status, 0) << out;
  const Events e = parse(out);
  ASSERT_EQ(e.ends.size(), 1u) << out;
  const nlohmann::json& end = e.ends[0];
  EXPECT_LE(end["video_tokens_held"].get<int64_t>(), 30);
  EXPECT_GT(end["video_tokens_dropped"].get<int64_t>(), 0);
  EXPECT_EQ(end["video_tokens"].get<int64_t>() - end["video_tokens_dropped"].get<int64_t>(),
            end["video_tokens_held"].get<int64_t>());
  EXPECT_EQ(e.captions.size(), 3u);
}

TEST_F(StreamCli, FollowsAGrowingFile) {
  const std::string file = scratch_dir() + "/growing.ts";
  // ffmpeg writes 4 s of video in real time (-re) while vamba reads it.
  std::thread writer([&] {
    int st = 0;
    run_shell(std::string(VAMBA_FFMPEG_EXE) +
                  " -hide_banner -loglevel error -nostdin -re -f lavfi -i "
                  "testsrc=size=160x120:rate=10 -t 4 -c:v libx264 -preset ultrafast -g 5 -bf 0 "
                  "-pix_fmt yuv420p -flush_packets 1 -f mpegts -y " +
                  file,
              &st);
  });
  // Let the file appear first.
  for (int i = 0; i < 100 && testing::read_bytes(file).size() < 4096; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  int status = 0;
  const std::string out =
      run_shell(stream_command(file, "--follow --idle-timeout 5s --caption-every 2s"), &status);
  writer.join();
  ASSERT_EQ(status, 0) << out;
  const Events e = parse(out);
  ASSERT_EQ(e.ends.size(), 1u) << out;
  EXPECT_NEAR(e.ends[0]["duration"].get<double>(), 4.0, 1e-6) << out;
  ASSERT_EQ(e.captions.size(), 2u) << out;
  EXPECT_LT(e.captions[0]["end"].get<double>(), e.captions[1]["end"].get<double>());
}

TEST_F(StreamCli, MissingFileAndBadArguments) {
  int status = 0;
  run_shell(stream_command(scratch_dir() + "/none.ts", "--caption-every 2s"), &status);
  EXPECT_EQ(status, 1);
  run_shell(stream_command("pipe:0", "--caption-every 0.5s") + " < /dev/null", &status);
  EXPECT_EQ(status, 2);  // shorter than one frame pair at 2 fps
}

}  // namespace
}  // namespace vamba
