// The frame samplers against the reference's own choices on magic.mp4 (golden frame_indices,
// fps2_frame_indices, frame_timestamps) and the corner cases of Vamba's get_frame_indices.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/testing/golden.h"
#include "tests/testing/golden_tensors.h"
#include "vision/sample/frame_sampler.h"

namespace vamba::vision {
namespace {

using testing::golden_path;

// The reference's view of magic.mp4: frame count and fps as decord/OpenCV reported them.
struct ReferenceVideo {
  int64_t frames = 0;
  double fps = 0;
};

ReferenceVideo reference_video() {
  std::ifstream in(golden_path("vamba-tiny/inputs.json"));
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << "cannot parse inputs.json";
  if (j.is_discarded()) return {};
  return {j.value("total_frames", int64_t{0}), j.value("fps", 0.0)};
}

TEST(Sampler, UniformMatchesGoldenFrameIndices) {
  const ReferenceVideo video = reference_video();
  const std::vector<int64_t> expected = testing::golden_ints("frame_indices");
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(uniform_indices(video.frames, static_cast<int64_t>(expected.size())), expected);
}

TEST(Sampler, FpsMatchesGoldenFps2Indices) {
  const ReferenceVideo video = reference_video();
  const std::vector<int64_t> expected = testing::golden_ints("fps2_frame_indices");
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(fps_indices(video.frames, video.fps, 2.0, /*max_frames=*/0), expected);
  // A cap keeps the first ones.
  const std::vector<int64_t> capped = fps_indices(video.frames, video.fps, 2.0, 5);
  EXPECT_EQ(capped, std::vector<int64_t>(expected.begin(), expected.begin() + 5));
}

TEST(Sampler, TimestampsMatchGolden) {
  const ReferenceVideo video = reference_video();
  auto timestamps = testing::golden_tensor("frame_timestamps");
  ASSERT_TRUE(timestamps.ok()) << timestamps.status().to_string();
  ASSERT_EQ(timestamps->dtype(), DType::kF64);
  SamplingOptions options;
  options.num_frames = timestamps->numel();
  auto samples = sample_frames(video.frames, video.fps, options);
  ASSERT_TRUE(samples.ok()) << samples.status().to_string();
  ASSERT_EQ(static_cast<int64_t>(samples->size()), timestamps->numel());
  const double* t = timestamps->data<double>();
  for (size_t i = 0; i < samples->size(); ++i) {
    EXPECT_NEAR((*samples)[i].timestamp, t[i], 1e-12) << "frame " << i;
  }
}

TEST(Sampler, UniformPadsShortVideosWithTheLastIndex) {
  // vlen < n: one frame per range, then the last repeated (the reference's padding).
  EXPECT_EQ(uniform_indices(3, 5), (std::vector<int64_t>{0, 1, 2, 2, 2}));
  EXPECT_EQ(uniform_indices(1, 4), (std::vector<int64_t>{0, 0, 0, 0}));
  EXPECT_TRUE(uniform_indices(0, 4).empty());
  EXPECT_TRUE(uniform_indices(10, 0).empty());
}

TEST(Sampler, UniformUsesLinspaceTruncation) {
  // linspace(0, 10, 4) = [0, 3.33, 6.67, 10] -> [0, 3, 6, 10]: ranges [0,2], [3,5], [6,9].
  EXPECT_EQ(uniform_indices(10, 3), (std::vector<int64_t>{1, 4, 7}));
  // Every index is in range and ascending for many sizes.
  for (int64_t vlen = 1; vlen < 400; vlen += 7) {
    for (int64_t n : {1, 2, 7, 8, 16, 33}) {
      const auto idx = uniform_indices(vlen, n);
      ASSERT_EQ(static_cast<int64_t>(idx.size()), n);
      for (size_t i = 0; i < idx.size(); ++i) {
        ASSERT_GE(idx[i], 0);
        ASSERT_LT(idx[i], vlen);
        if (i) {
          ASSERT_GE(idx[i], idx[i - 1]);
        }
      }
    }
  }
}

TEST(Sampler, FpsRoundsHalfToEven) {
  // fps 1, sample_fps 1: times 0.5, 1.5, 2.5, 3.5 -> around -> 0, 2, 2, 4 (ties to even); 4 >=
  // vlen.
  EXPECT_EQ(fps_indices(4, 1.0, 1.0, 0), (std::vector<int64_t>{0, 2, 2}));
}

TEST(Sampler, TimeRangeShiftsIndices) {
  // 300 frames at 30 fps; [2 s, 4 s) is frames 60..119, sampled as a 60-frame clip.
  SamplingOptions options;
  options.num_frames = 4;
  options.start = 2.0;
  options.end = 4.0;
  auto samples = sample_frames(300, 30.0, options);
  ASSERT_TRUE(samples.ok()) << samples.status().to_string();
  const auto local = uniform_indices(60, 4);
  ASSERT_EQ(samples->size(), local.size());
  for (size_t i = 0; i < local.size(); ++i) {
    EXPECT_EQ((*samples)[i].index, 60 + local[i]);
    EXPECT_DOUBLE_EQ((*samples)[i].timestamp, (60 + local[i]) / 30.0);
    EXPECT_GE((*samples)[i].timestamp, 2.0);
    EXPECT_LT((*samples)[i].timestamp, 4.0);
  }
  options.mode = SampleMode::kFps;
  options.sample_fps = 1.0;
  samples = sample_frames(300, 30.0, options);
  ASSERT_TRUE(samples.ok()) << samples.status().to_string();
  ASSERT_EQ(samples->size(), 2u);  // 2.5 s and 3.5 s
  EXPECT_EQ((*samples)[0].index, 75);
  EXPECT_EQ((*samples)[1].index, 105);
}

TEST(Sampler, RejectsBadArguments) {
  SamplingOptions options;
  EXPECT_EQ(sample_frames(0, 30.0, options).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(sample_frames(100, 0.0, options).status().code(), StatusCode::kInvalidArgument);
  options.start = 10.0;  // past the end of 100 frames at 30 fps
  EXPECT_EQ(sample_frames(100, 30.0, options).status().code(), StatusCode::kInvalidArgument);
  options.start = 1.0;
  options.end = 1.0;
  EXPECT_EQ(sample_frames(100, 30.0, options).status().code(), StatusCode::kInvalidArgument);
  options = SamplingOptions{};
  options.num_frames = 0;
  EXPECT_EQ(sample_frames(100, 30.0, options).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vamba::vision
