// The video's memory is decided before any frame is decoded (pipelines/video_budget.h): the
// predicted token count equals what encoding then produces and the K/V is reserved once, a video
// over the budget is RESOURCE_EXHAUSTED from its container's index alone (the message says what to
// change), auto tower batches follow the memory, and the fp8 store encodes and answers.
#include <gtest/gtest.h>

#include <algorithm>

#include "engine/ops/common.h"
#include "pipelines/video_budget.h"
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

// The refusal comes from the container's index alone: magic.mp4 with its index first, cut short so
// that the sampled frames cannot be decoded. Under a generous budget encoding it fails in the
// decoder; under a tiny one it is RESOURCE_EXHAUSTED — so no frame was decoded before the refusal.
TEST(VideoBudget, OverBudgetIsRefusedBeforeDecoding) {
  const std::string faststart = testing::faststart_magic();
  ASSERT_FALSE(faststart.empty()) << "the ffmpeg CLI could not remux magic.mp4";
  ASSERT_NE(qa(), nullptr);
  std::vector<uint8_t> bytes = testing::read_bytes(faststart);
  bytes.resize(bytes.size() / 8);
  const std::string cut = testing::scratch_dir() + "/magic_index_only.mp4";
  ASSERT_TRUE(testing::write_bytes(cut, bytes));
  const auto shared_bytes = std::make_shared<const std::vector<uint8_t>>(bytes);

  VideoEncodeOptions o = options();
  o.memory_limit_bytes = int64_t{4} << 30;
  const auto decoded = qa()->encode({cut, nullptr}, o);
  ASSERT_FALSE(decoded.ok()) << "the cut file must not decode, or the test proves nothing";
  EXPECT_NE(decoded.status().code(), StatusCode::kResourceExhausted);

  o.memory_limit_bytes = 4096;
  for (const VideoInput& input : {VideoInput{cut, nullptr}, VideoInput{"", shared_bytes}}) {
    SCOPED_TRACE(input.bytes ? "from bytes" : "from a file");
    const auto refused = qa()->encode(input, o);
    ASSERT_EQ(refused.status().code(), StatusCode::kResourceExhausted)
        << refused.status().to_string();
    const std::string& m = refused.status().message();
    EXPECT_NE(m.find("video tokens"), std::string::npos) << m;
    EXPECT_NE(m.find("4.0 KiB is available"), std::string::npos) << m;
    EXPECT_NE(m.find("--kv-store fp8"), std::string::npos) << m;
    EXPECT_NE(m.find("fewer frames"), std::string::npos) << m;
  }
}

// The budget itself, on a real clip's container: the refusal names the predicted tokens, auto tower
// batches follow the memory, explicit ones are kept, and fp8 halves the K/V.
TEST(VideoBudget, PlansFromTheContainer) {
  const std::string clip = testing::testsrc_clip();
  ASSERT_FALSE(clip.empty()) << "the ffmpeg CLI could not make the test clip";
  ASSERT_NE(qa(), nullptr);
  auto decoder = vision::VideoDecoder::open_file(clip);
  ASSERT_TRUE(decoder.ok());
  const vision::VideoInfo info = (*decoder)->info();
  const VambaConfig& config = qa()->checkpoint().config;
  const PreprocessorConfig& pre = qa()->checkpoint().preprocessor;
  VideoEncodeOptions o = options();
  o.sampling.num_frames = 64;
  o.memory_limit_bytes = int64_t{4} << 30;
  auto roomy = plan_video_budget(config, pre, Device::cpu(), info, 64, o);
  ASSERT_TRUE(roomy.ok()) << roomy.status().to_string();
  const int64_t pair = roomy->grid.grid_h * roomy->grid.grid_w;
  ASSERT_EQ(roomy->grid.grid_t, 32);
  EXPECT_EQ(roomy->plan.video_tokens, roomy->video_tokens);
  EXPECT_EQ(roomy->available_bytes, o.memory_limit_bytes);
  // Plenty of memory: auto batches take as many pairs as one LM chunk holds.
  const int64_t chunk_pairs = std::max<int64_t>(
      1, o.lm.max_chunk_tokens /
             (pair / (config.vision.spatial_merge_size * config.vision.spatial_merge_size)));
  EXPECT_EQ(roomy->tower_patches_per_batch, std::min<int64_t>(32, chunk_pairs) * pair);

  // Room for the K/V, an LM chunk and three one-pair batches: auto takes half of what is left, so
  // one pair per batch, and the plan fits.
  VideoMemoryShape shape;
  shape.video_tokens = roomy->video_tokens;
  shape.max_chunk_tokens = o.lm.max_chunk_tokens;
  shape.tower_patches = pair;
  const VideoMemoryPlan one_pair =
      plan_video_memory(config, ops::activation_dtype(Device::cpu()), shape);
  const int64_t pair_bytes = one_pair.tower_bytes + one_pair.v0_bytes;
  ASSERT_GT(pair_bytes, 0);
  o.memory_limit_bytes = roomy->plan.kv_bytes + roomy->plan.lm_chunk_bytes + 3 * pair_bytes;
  auto tight = plan_video_budget(config, pre, Device::cpu(), info, 64, o);
  ASSERT_TRUE(tight.ok()) << tight.status().to_string();
  EXPECT_EQ(tight->tower_patches_per_batch, pair);
  EXPECT_EQ(tight->plan.total_bytes(), one_pair.total_bytes());
  EXPECT_LE(tight->plan.total_bytes(), o.memory_limit_bytes);
  // Over budget: refused, naming the predicted tokens.
  o.memory_limit_bytes = roomy->plan.kv_bytes / 2;
  auto refused = plan_video_budget(config, pre, Device::cpu(), info, 64, o);
  ASSERT_EQ(refused.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(refused.status().message().find(std::to_string(roomy->video_tokens) + " video tokens"),
            std::string::npos)
      << refused.status().message();
  // An explicit batch size is kept (in whole pairs).
  o.memory_limit_bytes = int64_t{4} << 30;
  o.vision.max_patches_per_batch = 2 * pair + 1;
  auto explicit_batch = plan_video_budget(config, pre, Device::cpu(), info, 64, o);
  ASSERT_TRUE(explicit_batch.ok());
  EXPECT_EQ(explicit_batch->tower_patches_per_batch, 2 * pair);
  // fp8 about halves the K/V of the exact store (f32 on the CPU: a quarter).
  o.kv_store = KvStore::kFp8E4M3;
  auto fp8 = plan_video_budget(config, pre, Device::cpu(), info, 64, o);
  ASSERT_TRUE(fp8.ok());
  EXPECT_LT(fp8->plan.kv_bytes, roomy->plan.kv_bytes / 3);
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
