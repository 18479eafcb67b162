// The video's memory is decided before any frame is decoded (engine/state/memory_plan.h): the
// predicted token count equals what encoding then produces, a video over the budget is
// RESOURCE_EXHAUSTED at once (the message says what to change), the same video under a generous
// budget encodes, and the fp8 store encodes and answers.
#include <gtest/gtest.h>

#include <chrono>

#include "pipelines/video_qa.h"
#include "tests/testing/golden.h"
#include "tests/vision/test_clips.h"
#include "vision/preprocess/video_grid.h"

namespace vamba::pipelines {
namespace {

VideoQa* qa() {
  static std::unique_ptr<VideoQa> q = [] {
    auto loaded = VideoQa::load(testing::golden_path("vamba-tiny"), Device::cpu());
    EXPECT_TRUE(loaded.ok()) << loaded.status().to_string();
    return loaded.ok() ? std::move(loaded).value() : nullptr;
  }();
  return q.get();
}

VideoEncodeOptions options() {
  VideoEncodeOptions o;
  o.sampling = {vision::SampleMode::kUniform, 8};
  o.pre_resize = {112, 224};
  return o;
}

TEST(VideoBudget, PredictedTokensMatchTheEncodedVideo) {
  const std::string clip = testing::testsrc_clip();
  ASSERT_FALSE(clip.empty()) << "the ffmpeg CLI could not make the test clip";
  ASSERT_NE(qa(), nullptr);
  for (const std::string& path : {clip, testing::rotated_clip()}) {
    SCOPED_TRACE(path);
    auto decoder = vision::VideoDecoder::open_file(path);
    ASSERT_TRUE(decoder.ok());
    auto grid = vision::predict_video_grid((*decoder)->info(), 8, options().pre_resize,
                                           qa()->checkpoint().preprocessor);
    ASSERT_TRUE(grid.ok()) << grid.status().to_string();
    auto video = qa()->encode({path, nullptr}, options());
    ASSERT_TRUE(video.ok()) << video.status().to_string();
    EXPECT_EQ((*video)->grid_t, grid->grid_t);
    EXPECT_EQ((*video)->grid_h, grid->grid_h);
    EXPECT_EQ((*video)->grid_w, grid->grid_w);
    EXPECT_EQ((*video)->video_tokens,
              grid->tokens(qa()->checkpoint().config.vision.spatial_merge_size));
    // The K/V was reserved once for exactly the video: never doubled.
    EXPECT_EQ((*video)->state.cross_kv[0].capacity(), (*video)->video_tokens);
  }
}

TEST(VideoBudget, OverBudgetIsRefusedBeforeDecoding) {
  const std::string clip = testing::testsrc_clip();
  ASSERT_FALSE(clip.empty()) << "the ffmpeg CLI could not make the test clip";
  ASSERT_NE(qa(), nullptr);
  VideoEncodeOptions o = options();
  o.sampling.num_frames = 300;  // every frame: decoding them all would take a while
  o.memory_limit_bytes = 64 * 1024;
  const auto t0 = std::chrono::steady_clock::now();
  auto video = qa()->encode({clip, nullptr}, o);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(video.status().code(), StatusCode::kResourceExhausted) << video.status().to_string();
  EXPECT_NE(video.status().message().find("video tokens"), std::string::npos);
  EXPECT_NE(video.status().message().find("--kv-store fp8"), std::string::npos);
  // Refused from the probe alone: far less than decoding and encoding 300 frames.
  auto full = qa()->encode({clip, nullptr}, options());
  ASSERT_TRUE(full.ok());
  EXPECT_LT(s, (*full)->timings.total_s) << "refusal took " << s << " s";
  // A budget that holds it encodes.
  o.memory_limit_bytes = int64_t{4} << 30;
  o.sampling.num_frames = 8;
  EXPECT_TRUE(qa()->encode({clip, nullptr}, o).ok());
}

TEST(VideoBudget, Fp8StoreEncodesAndAnswers) {
  const std::string clip = testing::testsrc_clip();
  ASSERT_FALSE(clip.empty()) << "the ffmpeg CLI could not make the test clip";
  ASSERT_NE(qa(), nullptr);
  VideoEncodeOptions o = options();
  o.kv_store = KvStore::kFp8E4M3;
  auto video = qa()->encode({clip, nullptr}, o);
  ASSERT_TRUE(video.ok()) << video.status().to_string();
  EXPECT_EQ((*video)->state.cross_kv[0].store(), KvStore::kFp8E4M3);
  AskOptions ask;
  ask.max_new_tokens = 4;
  auto answer = qa()->ask(**video, "What is shown?", ask);
  ASSERT_TRUE(answer.ok()) << answer.status().to_string();
  EXPECT_EQ(answer->tokens.size(), 4u);
}

}  // namespace
}  // namespace vamba::pipelines
