// The Qwen2-VL processor against the reference: golden frames_rgb -> pixel_values_videos and
// video_grid_thw, plus the resize rules and Pillow-bicubic invariants.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "tests/testing/golden.h"
#include "tests/testing/golden_tensors.h"
#include "vision/preprocess/resize.h"
#include "vision/preprocess/video_processor.h"

namespace vamba::vision {
namespace {

using testing::golden_path;

// The golden pre-resized frames as VideoFrames.
std::vector<VideoFrame> golden_frames() {
  std::vector<VideoFrame> frames;
  auto t = testing::golden_tensor("frames_rgb");  // (T, H, W, 3) u8
  EXPECT_TRUE(t.ok()) << t.status().to_string();
  if (!t.ok()) return frames;
  EXPECT_EQ(t->dtype(), DType::kU8);
  const int64_t n = t->dim(0), h = t->dim(1), w = t->dim(2);
  const uint8_t* p = t->data<uint8_t>();
  for (int64_t i = 0; i < n; ++i) {
    VideoFrame f;
    f.height = static_cast<int>(h);
    f.width = static_cast<int>(w);
    f.index = i;
    f.rgb.assign(p + i * h * w * 3, p + (i + 1) * h * w * 3);
    frames.push_back(std::move(f));
  }
  return frames;
}

PreprocessorConfig golden_preprocessor() {
  auto config = PreprocessorConfig::from_file(golden_path("vamba-tiny/preprocessor_config.json"));
  EXPECT_TRUE(config.ok()) << config.status().to_string();
  return config.ok() ? *config : PreprocessorConfig{};
}

// Compares pixel rows with the golden tensor: at most one uint8 level (1 / 255 / std of the
// column's channel) per element. Returns the worst difference in levels.
double compare_pixel_values(const VideoPatches& patches, const PreprocessorConfig& config) {
  const std::vector<float> expected = testing::golden_floats("pixel_values_videos");
  const Shape shape = testing::golden_shape("pixel_values_videos");
  EXPECT_EQ(patches.pixel_values.shape(), shape);
  if (patches.pixel_values.shape() != shape) return INFINITY;
  const float* got = patches.pixel_values.data<float>();
  const int64_t cols = shape[1];
  const int64_t per_channel = cols / 3;
  double worst_levels = 0;
  int64_t differing = 0;
  for (int64_t i = 0; i < static_cast<int64_t>(expected.size()); ++i) {
    const int c = static_cast<int>((i % cols) / per_channel);
    const double level = 1.0 / 255.0 / config.image_std[c];
    const double diff = std::fabs(static_cast<double>(got[i]) - expected[i]);
    if (diff > 0) ++differing;
    worst_levels = std::max(worst_levels, diff / level);
  }
  const double rel = testing::rel_l2(std::vector<float>(got, got + expected.size()), expected);
  std::printf(
      "[ metric ] pixel_values_videos: max diff %.6g uint8 levels, %lld of %zu differ, "
      "rel L2 %.3g\n",
      worst_levels, static_cast<long long>(differing), expected.size(), rel);
  EXPECT_LE(worst_levels, 1.0 + 1e-4);
  return worst_levels;
}

TEST(Preprocess, GoldenFramesGivePixelValuesVideos) {
  const PreprocessorConfig config = golden_preprocessor();
  const std::vector<VideoFrame> frames = golden_frames();
  ASSERT_FALSE(frames.empty());
  auto patches = process_video(frames, config);
  ASSERT_TRUE(patches.ok()) << patches.status().to_string();
  const std::vector<int64_t> grid = testing::golden_ints("video_grid_thw");
  ASSERT_EQ(grid.size(), 3u);
  EXPECT_EQ(patches->grid_t, grid[0]);
  EXPECT_EQ(patches->grid_h, grid[1]);
  EXPECT_EQ(patches->grid_w, grid[2]);
  compare_pixel_values(*patches, config);
}

TEST(Preprocess, ChunksOfPairsGiveConsecutiveRows) {
  // Rows run over time pairs first, so a long video can be processed (and encoded) chunk by chunk.
  const PreprocessorConfig config = golden_preprocessor();
  std::vector<VideoFrame> frames = golden_frames();
  ASSERT_EQ(frames.size() % 4, 0u);
  auto whole = process_video(frames, config);
  ASSERT_TRUE(whole.ok()) << whole.status().to_string();
  const size_t half = frames.size() / 2;
  auto first = process_video({frames.begin(), frames.begin() + half}, config);
  auto second = process_video({frames.begin() + half, frames.end()}, config);
  ASSERT_TRUE(first.ok() && second.ok());
  auto a = first->pixel_values.to_float_vector();
  auto b = second->pixel_values.to_float_vector();
  auto w = whole->pixel_values.to_float_vector();
  ASSERT_TRUE(a.ok() && b.ok() && w.ok());
  a->insert(a->end(), b->begin(), b->end());
  EXPECT_EQ(*a, *w);
}

TEST(Preprocess, OddLastFrameIsDropped) {
  const PreprocessorConfig config = golden_preprocessor();
  std::vector<VideoFrame> frames = golden_frames();
  ASSERT_GE(frames.size(), 4u);
  frames.resize(3);
  auto patches = process_video(frames, config);
  ASSERT_TRUE(patches.ok()) << patches.status().to_string();
  EXPECT_EQ(patches->grid_t, 1);
  EXPECT_EQ(patches->timestamps.size(), 2u);
  frames.resize(1);
  EXPECT_EQ(process_video(frames, config).status().code(), StatusCode::kInvalidArgument);
}

TEST(Preprocess, MismatchedFramesAreRejected) {
  std::vector<VideoFrame> frames = golden_frames();
  ASSERT_GE(frames.size(), 2u);
  frames[1].rgb.resize(10);
  EXPECT_EQ(process_video(frames, PreprocessorConfig{}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(Resize, PreResizeRule) {
  // Landscape wider than `longest`: width pinned, height from the aspect ratio (truncated).
  EXPECT_EQ(pre_resize_size({1080, 1920}, 112, 224), (ImageSize{126, 224}));
  // Portrait: height pinned.
  EXPECT_EQ(pre_resize_size({1920, 1080}, 112, 224), (ImageSize{224, 126}));
  // Small images only grow to `shortest`.
  EXPECT_EQ(pre_resize_size({50, 80}, 112, 224), (ImageSize{112, 112}));
  // Very wide: the short side is raised to `shortest`.
  EXPECT_EQ(pre_resize_size({100, 1000}, 112, 224), (ImageSize{112, 224}));
}

TEST(Resize, SmartResize) {
  // Round half to even: 126 / 28 = 4.5 -> 4.
  auto s = smart_resize({126, 224}, 28, 3136, 1003520);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, (ImageSize{112, 224}));
  // Too many pixels: scaled down by sqrt and floored to the factor; result within max_pixels.
  s = smart_resize({1080, 1920}, 28, 3136, 1003520);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->height % 28, 0);
  EXPECT_EQ(s->width % 28, 0);
  EXPECT_LE(int64_t{s->height} * s->width, 1003520);
  // Too few: scaled up and ceiled.
  s = smart_resize({28, 28}, 28, 3136, 1003520);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, (ImageSize{56, 56}));
  EXPECT_EQ(smart_resize({20, 300}, 28, 3136, 1003520).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(smart_resize({28, 28 * 201}, 28, 3136, 100000000).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(Resize, BicubicKeepsConstantImagesAndIdentity) {
  std::vector<uint8_t> img(37 * 53 * 3);
  for (size_t i = 0; i < img.size(); ++i) img[i] = static_cast<uint8_t>(i % 3 == 0 ? 7 : 200);
  for (ImageSize out : {ImageSize{11, 19}, ImageSize{80, 120}, ImageSize{37, 20}}) {
    auto r = resize_bicubic_pil(img.data(), {37, 53}, 3, out);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->size(), static_cast<size_t>(out.height) * out.width * 3);
    for (size_t i = 0; i < r->size(); ++i) {
      ASSERT_EQ((*r)[i], i % 3 == 0 ? 7 : 200) << "at " << i;
    }
  }
  auto same = resize_bicubic_pil(img.data(), {37, 53}, 3, {37, 53});
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, img);
  EXPECT_EQ(resize_bicubic_pil(img.data(), {37, 53}, 3, {0, 5}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(Resize, GoldenFramesResizeToTheGoldenGrid) {
  // smart_resize of the pre-resized golden frames gives the grid the reference used (x 14).
  const PreprocessorConfig config = golden_preprocessor();
  std::vector<VideoFrame> frames = golden_frames();
  ASSERT_GE(frames.size(), 2u);
  frames.resize(2);
  auto patches = process_video(frames, config);
  ASSERT_TRUE(patches.ok()) << patches.status().to_string();
  const std::vector<int64_t> grid = testing::golden_ints("video_grid_thw");
  ASSERT_EQ(grid.size(), 3u);
  EXPECT_EQ(patches->frame_size, (ImageSize{static_cast<int>(grid[1] * config.patch_size),
                                            static_cast<int>(grid[2] * config.patch_size)}));
}

}  // namespace
}  // namespace vamba::vision
