// The vision tower on CUDA (bf16) from the golden pixel_values_videos: the patch embedding, every
// block's output and the merged video tokens within 2x the reference's own bf16 spread.
#include <gtest/gtest.h>

#include <iostream>
#include <map>

#include "tests/gpu_golden/bf16_tolerance.h"
#include "tests/testing/golden.h"
#include "tests/testing/golden_tensors.h"
#include "vision/tower/vision_tower.h"

namespace vamba {
namespace {

TEST(TowerCudaGolden, IntermediatesWithinTwiceTheReferenceBf16Spread) {
  VAMBA_SKIP_WITHOUT_GPU();
  auto ck = Checkpoint::open(testing::golden_path("vamba-tiny"));
  ASSERT_TRUE(ck.ok()) << ck.status().to_string();
  auto stream = Stream::create(Device::cuda(0));
  ASSERT_TRUE(stream.ok());
  auto tower = vision::VisionTower::load(*ck, Device::cuda(0), &*stream);
  ASSERT_TRUE(tower.ok()) << tower.status().to_string();
  auto pixels = testing::golden_tensor("pixel_values_videos");
  ASSERT_TRUE(pixels.ok());
  auto pixels_f32 = pixels->to_dtype_cpu(DType::kF32);
  ASSERT_TRUE(pixels_f32.ok());
  const std::vector<int64_t> thw = testing::golden_ints("video_grid_thw");
  ASSERT_EQ(thw.size(), 3u);

  // Batches of one temporal pair, so the batching path is exercised too; rows are reassembled.
  std::map<std::string, std::vector<float>> got;
  vision::VisionEncodeOptions opts;
  opts.max_patches_per_batch = thw[1] * thw[2];
  opts.on_intermediate = [&](const std::string& name, const Tensor& value, int64_t) {
    auto v = value.to_float_vector();
    ASSERT_TRUE(v.ok());
    auto& dst = got[name];
    dst.insert(dst.end(), v->begin(), v->end());
  };
  auto tokens = tower->encode(*pixels_f32, thw[0], thw[1], thw[2], opts, *stream);
  ASSERT_TRUE(tokens.ok()) << tokens.status().to_string();
  ASSERT_TRUE(stream->synchronize().ok());
  auto final_tokens = tokens->to_float_vector();
  ASSERT_TRUE(final_tokens.ok());
  got["vision_embeds"] = *final_tokens;

  std::vector<std::string> names = {"vision.patch_embed_out", "vision_embeds"};
  for (int b = 0; b < ck->config.vision.depth; ++b) {
    names.push_back("vision.blocks." + std::to_string(b) + ".out");
  }
  for (const auto& name : names) {
    ASSERT_TRUE(got.count(name)) << "no intermediate " << name;
    const double d = testing::rel_l2(got[name], testing::golden_floats(name));
    const double tol = testing::bf16_tolerance(name);
    std::cout << "  cuda rel_l2 " << name << " = " << d << " (tolerance " << tol << ")\n";
    EXPECT_LE(d, tol) << name;
  }
}

}  // namespace
}  // namespace vamba
