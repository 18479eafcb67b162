// `vamba preprocess` end to end: the binary on magic.mp4 with the golden run's settings
// (inputs.json "set": frames, short, long) writes the reference's frames_rgb, frame_indices,
// frame_timestamps, pixel_values_videos and video_grid_thw; bad input exits non-zero with a message
// naming the problem and leaves nothing at --out.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <sys/wait.h>

#include "engine/model/config.h"
#include "engine/model/safetensors.h"
#include "tests/testing/golden.h"
#include "tests/testing/golden_tensors.h"

namespace vamba {
namespace {

namespace fs = std::filesystem;

// The reference's settings for magic.mp4, from inputs.json.
struct GoldenSettings {
  int64_t frames = 0;
  int shortest = 0;
  int longest = 0;
};

GoldenSettings golden_settings() {
  std::ifstream in(testing::golden_path("vamba-tiny/inputs.json"));
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  GoldenSettings s;
  if (j.is_discarded() || !j.contains("set")) {
    ADD_FAILURE() << "cannot read inputs.json";
    return s;
  }
  s.frames = j["set"].value("frames", int64_t{0});
  s.shortest = j["set"].value("short", 0);
  s.longest = j["set"].value("long", 0);
  return s;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class PreprocessCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vamba_preprocess_cli_" +
            std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    out_ = (dir_ / "out.safetensors").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `vamba preprocess <args>`; stderr goes to a file beside the output. Returns the exit code.
  int run(const std::string& args) {
    const std::string cmd = std::string(VAMBA_CLI_PATH) + " preprocess " + args + " 2>" +
                            (dir_ / "stderr.txt").string();
    const int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  std::string stderr_text() const { return read_text(dir_ / "stderr.txt"); }

  // `--video magic.mp4` with the golden settings, writing to `out`.
  std::string golden_args(const std::string& out) const {
    const GoldenSettings s = golden_settings();
    return "--video " + testing::golden_path("vamba-tiny/magic.mp4") + " --frames " +
           std::to_string(s.frames) + " --shortest-edge " + std::to_string(s.shortest) +
           " --longest-edge " + std::to_string(s.longest) + " --out " + out;
  }

  // Entries of the scratch folder other than stderr.txt (a failed run must leave none, not even a
  // temporary file).
  std::vector<std::string> leftovers() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().filename() != "stderr.txt") names.push_back(e.path().filename().string());
    }
    return names;
  }

  fs::path dir_;
  std::string out_;
};

Tensor tensor_of(const SafetensorsFile& file, const std::string& name) {
  auto t = file.tensor(name);
  EXPECT_TRUE(t.ok()) << t.status().to_string();
  return t.ok() ? *t : Tensor();
}

TEST_F(PreprocessCli, GoldenSettingsGiveGoldenTensors) {
  const std::string model = testing::golden_path("vamba-tiny");
  ASSERT_EQ(run(golden_args(out_) + " --model " + model), 0) << stderr_text();
  auto file = SafetensorsFile::open(out_);
  ASSERT_TRUE(file.ok()) << file.status().to_string();

  // Sampler: exact indices; timestamps index / fps in seconds.
  const Tensor indices = tensor_of(**file, "frame_indices");
  ASSERT_EQ(indices.dtype(), DType::kI64);
  const int64_t* idx = indices.data<int64_t>();
  EXPECT_EQ(std::vector<int64_t>(idx, idx + indices.numel()),
            testing::golden_ints("frame_indices"));
  const Tensor times = tensor_of(**file, "timestamps");
  ASSERT_EQ(times.dtype(), DType::kF64);
  const Tensor alias = tensor_of(**file, "frame_timestamps");  // the golden data's name
  ASSERT_EQ(alias.shape(), times.shape());
  for (int64_t i = 0; i < times.numel(); ++i) {
    EXPECT_EQ(alias.data<double>()[i], times.data<double>()[i]);
  }
  auto golden_times = testing::golden_tensor("frame_timestamps");
  ASSERT_TRUE(golden_times.ok());
  ASSERT_EQ(times.shape(), golden_times->shape());
  ASSERT_EQ(golden_times->dtype(), DType::kF64);
  for (int64_t i = 0; i < times.numel(); ++i) {
    EXPECT_NEAR(times.data<double>()[i], golden_times->data<double>()[i], 1e-9) << "frame " << i;
  }

  // Pre-resized frames: within one uint8 level of the reference (the decoder test's bound).
  const Tensor frames = tensor_of(**file, "frames_rgb");
  ASSERT_EQ(frames.dtype(), DType::kU8);
  auto golden_frames = testing::golden_tensor("frames_rgb");
  ASSERT_TRUE(golden_frames.ok());
  ASSERT_EQ(frames.shape(), golden_frames->shape());
  int max_abs = 0;
  for (int64_t i = 0; i < frames.numel(); ++i) {
    max_abs = std::max(
        max_abs, std::abs(int{frames.data<uint8_t>()[i]} - int{golden_frames->data<uint8_t>()[i]}));
  }
  std::printf("[ metric ] preprocess frames_rgb: max abs diff %d\n", max_abs);
  EXPECT_LE(max_abs, 1);

  // Processor output: the grid exactly, every value within one uint8 level after normalisation.
  const Tensor grid = tensor_of(**file, "video_grid_thw");
  ASSERT_EQ(grid.dtype(), DType::kI64);
  EXPECT_EQ(grid.shape(), testing::golden_shape("video_grid_thw"));
  const int64_t* g = grid.data<int64_t>();
  EXPECT_EQ(std::vector<int64_t>(g, g + grid.numel()), testing::golden_ints("video_grid_thw"));
  const Tensor pixels = tensor_of(**file, "pixel_values_videos");
  ASSERT_EQ(pixels.dtype(), DType::kF32);
  ASSERT_EQ(pixels.shape(), testing::golden_shape("pixel_values_videos"));
  auto config = PreprocessorConfig::from_file(model + "/preprocessor_config.json");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  const std::vector<float> expected = testing::golden_floats("pixel_values_videos");
  const int64_t cols = pixels.dim(1);
  double worst_levels = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const int c = static_cast<int>((i % cols) / (cols / 3));
    const double level = 1.0 / 255.0 / config->image_std[c];
    const double diff = std::fabs(static_cast<double>(pixels.data<float>()[i]) - expected[i]);
    worst_levels = std::max(worst_levels, diff / level);
  }
  std::printf("[ metric ] preprocess pixel_values_videos: max diff %.6g uint8 levels\n",
              worst_levels);
  EXPECT_LE(worst_levels, 1.0 + 1e-4);
}

// Without --model the processor takes Qwen2-VL's defaults, which are the values Vamba's
// checkpoints (and the golden one) ship: the same bytes come out.
TEST_F(PreprocessCli, DefaultsMatchTheCheckpointsConfig) {
  const std::string with_model = (dir_ / "with_model.safetensors").string();
  ASSERT_EQ(run(golden_args(with_model) + " --model " + testing::golden_path("vamba-tiny")), 0)
      << stderr_text();
  ASSERT_EQ(run(golden_args(out_)), 0) << stderr_text();
  auto a = SafetensorsFile::open(with_model);
  auto b = SafetensorsFile::open(out_);
  ASSERT_TRUE(a.ok() && b.ok());
  auto pa = (*a)->tensor("pixel_values_videos")->to_float_vector();
  auto pb = (*b)->tensor("pixel_values_videos")->to_float_vector();
  ASSERT_TRUE(pa.ok() && pb.ok());
  EXPECT_EQ(*pa, *pb);
}

TEST_F(PreprocessCli, FpsSamplerGivesGoldenIndices) {
  // The golden fps sampler ran at 2 frames per second (fps2_frame_indices).
  ASSERT_EQ(run("--video " + testing::golden_path("vamba-tiny/magic.mp4") +
                " --fps 2 --shortest-edge 112 --longest-edge 224 --out " + out_),
            0)
      << stderr_text();
  auto file = SafetensorsFile::open(out_);
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  const Tensor indices = tensor_of(**file, "frame_indices");
  const int64_t* idx = indices.data<int64_t>();
  EXPECT_EQ(std::vector<int64_t>(idx, idx + indices.numel()),
            testing::golden_ints("fps2_frame_indices"));
  EXPECT_EQ(tensor_of(**file, "frames_rgb").dim(0), indices.numel());
}

TEST_F(PreprocessCli, MissingVideoFailsAndLeavesAnEarlierFileAlone) {
  std::ofstream(out_) << "earlier contents";
  const std::string missing = (dir_ / "no_such_video.mp4").string();
  EXPECT_EQ(run("--video " + missing + " --frames 8 --out " + out_), 2);
  EXPECT_NE(stderr_text().find("no_such_video.mp4"), std::string::npos) << stderr_text();
  EXPECT_EQ(read_text(out_), "earlier contents");
  EXPECT_EQ(leftovers(), std::vector<std::string>{"out.safetensors"});
}

TEST_F(PreprocessCli, NotAVideoFailsWithNoOutput) {
  const fs::path text = dir_ / "notes.mp4";
  std::ofstream(text) << "this is not a video\n";
  EXPECT_NE(run("--video " + text.string() + " --frames 8 --out " + out_), 0);
  EXPECT_NE(stderr_text().find("error"), std::string::npos) << stderr_text();
  EXPECT_FALSE(fs::exists(out_));
  EXPECT_EQ(leftovers(), std::vector<std::string>{"notes.mp4"});
}

TEST_F(PreprocessCli, MissingModelFolderFailsWithNoOutput) {
  EXPECT_EQ(run(golden_args(out_) + " --model " + (dir_ / "no_model").string()), 2);
  EXPECT_NE(stderr_text().find("no_model"), std::string::npos) << stderr_text();
  EXPECT_TRUE(leftovers().empty());
}

TEST_F(PreprocessCli, UnwritableOutputFailsWithNoOutput) {
  const std::string out = (dir_ / "missing_folder" / "out.safetensors").string();
  EXPECT_EQ(run(golden_args(out)), 2);
  EXPECT_NE(stderr_text().find("missing_folder"), std::string::npos) << stderr_text();
  EXPECT_TRUE(leftovers().empty());
}

TEST_F(PreprocessCli, TimeRangePastTheEndIsRejected) {
  EXPECT_EQ(run("--video " + testing::golden_path("vamba-tiny/magic.mp4") +
                " --frames 8 --start 3600 --out " + out_),
            2);
  EXPECT_NE(stderr_text().find("error"), std::string::npos);
  EXPECT_TRUE(leftovers().empty());
}

}  // namespace
}  // namespace vamba
