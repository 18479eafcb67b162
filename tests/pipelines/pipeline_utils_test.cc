// The small parts of batch captioning: duration arguments, input lists (folder, list file, glob),
// shards (stable, disjoint, complete), fixed segments, the JSON-lines output's repair of a torn
// last line and its appends, and the progress text.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "pipelines/batch_caption.h"
#include "pipelines/caption_inputs.h"
#include "pipelines/duration_arg.h"
#include "pipelines/jsonl_output.h"
#include "pipelines/progress.h"

namespace vamba::pipelines {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "vamba_pipeline_utils_XXXXXX").string();
    if (mkdtemp(pattern.data())) path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(DurationArg, ParsesUnitsAndRefusesTheRest) {
  EXPECT_DOUBLE_EQ(*parse_duration_seconds("30s"), 30);
  EXPECT_DOUBLE_EQ(*parse_duration_seconds("90"), 90);
  EXPECT_DOUBLE_EQ(*parse_duration_seconds("1.5m"), 90);
  EXPECT_DOUBLE_EQ(*parse_duration_seconds("2h"), 7200);
  EXPECT_DOUBLE_EQ(*parse_duration_seconds("1h30m"), 5400);
  EXPECT_DOUBLE_EQ(*parse_duration_seconds("500ms"), 0.5);
  EXPECT_DOUBLE_EQ(*parse_duration_seconds("0"), 0);
  for (const char* bad : {"", "s", "-3s", "10x", "1h 2m", "inf", "nan", "3s4"}) {
    EXPECT_EQ(parse_duration_seconds(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(CaptionInputs, FolderListAndGlobAreSortedAndUnique) {
  TempDir t;
  fs::create_directories(t.path / "v" / "sub");
  for (const char* name : {"v/b.mp4", "v/a.MKV", "v/sub/c.ts", "v/notes.txt", "v/d.jpg"}) {
    std::ofstream(t.path / name) << "x";
  }
  auto folder = list_caption_inputs((t.path / "v").string());
  ASSERT_TRUE(folder.ok()) << folder.status().to_string();
  EXPECT_EQ(*folder,
            (std::vector<std::string>{(t.path / "v/a.MKV").string(), (t.path / "v/b.mp4").string(),
                                      (t.path / "v/sub/c.ts").string()}));
  std::ofstream(t.path / "list.txt") << "# videos\nv/b.mp4\n\n  /abs/x.mp4  \nv/b.mp4\n";
  auto list = list_caption_inputs((t.path / "list.txt").string());
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list, (std::vector<std::string>{"/abs/x.mp4", (t.path / "v/b.mp4").string()}));
  auto glob = list_caption_inputs((t.path / "v/*.mp4").string());
  ASSERT_TRUE(glob.ok());
  EXPECT_EQ(*glob, (std::vector<std::string>{(t.path / "v/b.mp4").string()}));
  EXPECT_EQ(list_caption_inputs((t.path / "nothing").string()).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(list_caption_inputs((t.path / "v/*.webm").string()).status().code(),
            StatusCode::kInvalidArgument);  // matches no video
}

TEST(Shards, ParseAndPartition) {
  EXPECT_EQ(parse_shard("2/8")->index, 2);
  EXPECT_EQ(parse_shard("2/8")->count, 8);
  for (const char* bad : {"0/2", "3/2", "1/0", "1", "a/b", "/2", "1/", "-1/2"}) {
    EXPECT_FALSE(parse_shard(bad).ok()) << bad;
  }
  std::vector<std::string> paths;
  for (int i = 0; i < 200; ++i) paths.push_back("/data/video_" + std::to_string(i) + ".mp4");
  std::set<std::string> seen;
  for (int i = 1; i <= 3; ++i) {
    const auto part = shard_paths(paths, {i, 3});
    EXPECT_GT(part.size(), 40u);  // roughly a third each
    for (const auto& p : part) EXPECT_TRUE(seen.insert(p).second) << p << " in two shards";
  }
  EXPECT_EQ(seen.size(), paths.size());
  // Stable: the hash is FNV-1a 64 of the text, the same on every machine and run.
  EXPECT_EQ(stable_path_hash(""), 14695981039346656037ull);
  EXPECT_EQ(stable_path_hash("a"), 0xaf63dc4c8601ec8cull);
}

TEST(FixedSegments, MultiplesWithAShortTailMerged) {
  using Segs = std::vector<std::pair<double, double>>;
  EXPECT_EQ(fixed_caption_segments(65, 30), (Segs{{0, 30}, {30, 60}, {60, 65}}));
  EXPECT_EQ(fixed_caption_segments(60.4, 30), (Segs{{0, 30}, {30, 60.4}}));
  EXPECT_EQ(fixed_caption_segments(10, 30), (Segs{{0, 10}}));
  EXPECT_TRUE(fixed_caption_segments(0, 30).empty());
}

TEST(JsonlOutput, RepairsATornLineAndAppendsWholeLines) {
  TempDir t;
  const fs::path out = t.path / "deep" / "out.jsonl";
  {
    auto o = JsonlOutput::open(out.string());
    ASSERT_TRUE(o.ok()) << o.status().to_string();
    EXPECT_TRUE((*o)->existing().empty());
    ASSERT_TRUE((*o)->append({{"path", "a"}, {"x", 1}}).ok());
    ASSERT_TRUE((*o)->append({{"path", "b"}, {"error", "bad"}}).ok());
  }
  std::ofstream(out, std::ios::app) << "not json\n{\"path\": \"c\", \"tor";
  auto o = JsonlOutput::open(out.string());
  ASSERT_TRUE(o.ok());
  ASSERT_EQ((*o)->existing().size(), 2u);
  EXPECT_EQ((*o)->existing()[1]["path"], "b");
  EXPECT_EQ((*o)->invalid_lines(), 1u);
  EXPECT_EQ((*o)->repaired_bytes(), std::string("{\"path\": \"c\", \"tor").size());
  ASSERT_TRUE((*o)->append({{"path", "c"}}).ok());
  EXPECT_EQ(slurp(out),
            "{\"path\":\"a\",\"x\":1}\n{\"error\":\"bad\",\"path\":\"b\"}\nnot json\n"
            "{\"path\":\"c\"}\n");
}

TEST(Progress, PlainLinesAndDurations) {
  EXPECT_EQ(Progress::format_duration(12), "12s");
  EXPECT_EQ(Progress::format_duration(245), "4m05s");
  EXPECT_EQ(Progress::format_duration(7080), "1h58m");
  char* buf = nullptr;
  size_t size = 0;
  FILE* mem = open_memstream(&buf, &size);
  {
    Progress p(2, /*tty=*/false, /*interval_s=*/3600, mem);
    p.video_done(false, 60);
    p.video_done(true, 0);  // the last one always prints
    p.finish();
  }
  fclose(mem);
  const std::string text(buf, size);
  free(buf);
  EXPECT_NE(text.find("progress: 1/2 videos (0 failed)"), std::string::npos) << text;
  EXPECT_NE(text.find("progress: 2/2 videos (1 failed)"), std::string::npos) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos);
}

}  // namespace
}  // namespace vamba::pipelines
