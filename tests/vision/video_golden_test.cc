// The whole video input path on magic.mp4 against the reference: sample 8 frames, decode them,
// pre-resize (golden frames_rgb), run the processor (golden pixel_values_videos, video_grid_thw).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "tests/testing/golden.h"
#include "tests/testing/golden_tensors.h"
#include "tests/vision/test_clips.h"
#include "vision/decode/video_decoder.h"
#include "vision/preprocess/video_input.h"
#include "vision/preprocess/video_processor.h"
#include "vision/sample/frame_sampler.h"

namespace vamba::vision {
namespace {

using testing::golden_path;

class VideoGolden : public ::testing::Test {
 protected:
  void SetUp() override {
    auto decoder = VideoDecoder::open_file(golden_path("vamba-tiny/magic.mp4"));
    ASSERT_TRUE(decoder.ok()) << decoder.status().to_string();
    const Shape shape = testing::golden_shape("frames_rgb");  // (T, H, W, 3)
    ASSERT_EQ(shape.size(), 4u);
    SamplingOptions sampling;
    sampling.num_frames = shape[0];
    auto samples = sample_frames((*decoder)->info().frame_count, (*decoder)->info().fps, sampling);
    ASSERT_TRUE(samples.ok()) << samples.status().to_string();
    std::vector<int64_t> indices;
    for (const auto& s : *samples) indices.push_back(s.index);
    ASSERT_EQ(indices, testing::golden_ints("frame_indices"));
    auto frames = (*decoder)->frames_at_indices(indices);
    ASSERT_TRUE(frames.ok()) << frames.status().to_string();
    // Vamba's loader settings for vamba-tiny: shortest 112, longest 224 (inputs.json "set").
    auto resized = pre_resize_frames(*frames, PreResizeOptions{112, 224});
    ASSERT_TRUE(resized.ok()) << resized.status().to_string();
    frames_ = std::move(*resized);
  }
  std::vector<VideoFrame> frames_;
};

TEST_F(VideoGolden, PreResizedFramesMatchFramesRgb) {
  auto golden = testing::golden_tensor("frames_rgb");
  ASSERT_TRUE(golden.ok()) << golden.status().to_string();
  const int64_t n = golden->dim(0), h = golden->dim(1), w = golden->dim(2);
  ASSERT_EQ(static_cast<int64_t>(frames_.size()), n);
  int max_abs = 0;
  int64_t differing = 0;
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(frames_[i].height, h);
    ASSERT_EQ(frames_[i].width, w);
    const auto d = testing::byte_diff(frames_[i].rgb.data(),
                                      golden->data<uint8_t>() + i * h * w * 3, h * w * 3);
    max_abs = std::max(max_abs, d.max_abs);
    differing += d.count;
  }
  std::printf("[ metric ] frames_rgb: max abs diff %d, %lld of %lld bytes differ\n", max_abs,
              static_cast<long long>(differing), static_cast<long long>(n * h * w * 3));
  EXPECT_LE(max_abs, 1);
}

TEST_F(VideoGolden, ProcessorOutputMatchesPixelValuesVideos) {
  auto config = PreprocessorConfig::from_file(golden_path("vamba-tiny/preprocessor_config.json"));
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  auto patches = process_video(frames_, *config);
  ASSERT_TRUE(patches.ok()) << patches.status().to_string();
  const std::vector<int64_t> grid = testing::golden_ints("video_grid_thw");
  ASSERT_EQ(grid.size(), 3u);
  EXPECT_EQ(patches->grid_t, grid[0]);
  EXPECT_EQ(patches->grid_h, grid[1]);
  EXPECT_EQ(patches->grid_w, grid[2]);
  const std::vector<float> expected = testing::golden_floats("pixel_values_videos");
  ASSERT_EQ(patches->pixel_values.numel(), static_cast<int64_t>(expected.size()));
  const float* got = patches->pixel_values.data<float>();
  const int64_t cols = patches->pixel_values.dim(1);
  double worst_levels = 0;
  int64_t differing = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const int c = static_cast<int>((i % cols) / (cols / 3));
    const double level = 1.0 / 255.0 / config->image_std[c];
    const double diff = std::fabs(static_cast<double>(got[i]) - expected[i]);
    differing += diff > 0;
    worst_levels = std::max(worst_levels, diff / level);
  }
  std::printf(
      "[ metric ] pixel_values_videos (from decoded frames): max diff %.6g uint8 levels, "
      "%lld of %zu differ\n",
      worst_levels, static_cast<long long>(differing), expected.size());
  EXPECT_LE(worst_levels, 1.0 + 1e-4);
}

TEST(VideoInput, OneCallGivesPixelValuesVideos) {
  auto decoder = VideoDecoder::open_file(golden_path("vamba-tiny/magic.mp4"));
  ASSERT_TRUE(decoder.ok()) << decoder.status().to_string();
  auto config = PreprocessorConfig::from_file(golden_path("vamba-tiny/preprocessor_config.json"));
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  VideoInputOptions options;
  options.sampling.num_frames = testing::golden_shape("frames_rgb")[0];
  options.pre_resize = PreResizeOptions{112, 224};
  auto input = load_video_input(**decoder, options, *config);
  ASSERT_TRUE(input.ok()) << input.status().to_string();
  std::vector<int64_t> indices;
  for (const auto& s : input->samples) indices.push_back(s.index);
  EXPECT_EQ(indices, testing::golden_ints("frame_indices"));
  const std::vector<int64_t> grid = testing::golden_ints("video_grid_thw");
  ASSERT_EQ(grid.size(), 3u);
  EXPECT_EQ(input->patches.grid_t, grid[0]);
  EXPECT_EQ(input->patches.grid_h, grid[1]);
  EXPECT_EQ(input->patches.grid_w, grid[2]);
  auto got = input->patches.pixel_values.to_float_vector();
  ASSERT_TRUE(got.ok());
  const std::vector<float> expected = testing::golden_floats("pixel_values_videos");
  const double err = testing::rel_l2(*got, expected);
  std::printf("[ metric ] load_video_input pixel_values_videos: rel L2 %.3g\n", err);
  // Every stage is bit-exact with the reference (see the stage tests), so the whole is too.
  EXPECT_EQ(err, 0.0);
}

}  // namespace
}  // namespace vamba::vision
