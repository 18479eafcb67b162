// The CPU vision tower (fp32) against the reference's intermediates on vamba-tiny: from golden
// pixel_values_videos, vision.patch_embed_out, vision.blocks.{i}.out and vision_embeds within
// relative L2 1e-4 — in one batch and in batches of single temporal pairs (same numbers: attention
// never crosses a pair).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "engine/model/checkpoint.h"
#include "tests/testing/golden.h"
#include "tests/testing/golden_tensors.h"
#include "vision/tower/vision_tower.h"

namespace vamba::vision {
namespace {

constexpr double kTolerance = 1e-4;  // fp32 engine vs the fp32 reference (golden README)

class VisionTowerGolden : public ::testing::TestWithParam<int64_t> {
 protected:
  static void SetUpTestSuite() {
    auto checkpoint = Checkpoint::open(testing::golden_path("vamba-tiny"));
    ASSERT_TRUE(checkpoint.ok()) << checkpoint.status().to_string();
    checkpoint_ = new Checkpoint(std::move(*checkpoint));
  }
  static void TearDownTestSuite() {
    delete checkpoint_;
    checkpoint_ = nullptr;
  }
  static Checkpoint* checkpoint_;
};
Checkpoint* VisionTowerGolden::checkpoint_ = nullptr;

TEST_P(VisionTowerGolden, MatchesReferenceIntermediates) {
  ASSERT_NE(checkpoint_, nullptr);
  auto tower = VisionTower::load(*checkpoint_);
  ASSERT_TRUE(tower.ok()) << tower.status().to_string();

  const std::vector<float> pixels = testing::golden_floats("pixel_values_videos");
  const Shape pixel_shape = testing::golden_shape("pixel_values_videos");
  const std::vector<int64_t> grid = testing::golden_ints("video_grid_thw");
  ASSERT_EQ(grid.size(), 3u);
  auto pixel_values = Tensor::from_floats(pixel_shape, pixels);
  ASSERT_TRUE(pixel_values.ok());

  // Gather every named intermediate over the batches into whole-video buffers.
  std::map<std::string, std::vector<float>> seen;
  int64_t largest_batch = 0;  // patches in the largest batch the tower ran
  VisionEncodeOptions options;
  options.max_patches_per_batch = GetParam();
  options.on_intermediate = [&](const std::string& name, const Tensor& value, int64_t row) {
    if (name == "vision.patch_embed_out") largest_batch = std::max(largest_batch, value.dim(0));
    auto values = value.to_float_vector();
    ASSERT_TRUE(values.ok());
    const int64_t width = value.dim(1);
    auto& buffer = seen[name];
    const size_t end = static_cast<size_t>((row + value.dim(0)) * width);
    if (buffer.size() < end) buffer.resize(end);
    std::memcpy(buffer.data() + row * width, values->data(), values->size() * sizeof(float));
  };
  auto embeds = tower->encode(*pixel_values, grid[0], grid[1], grid[2], options, Stream());
  ASSERT_TRUE(embeds.ok()) << embeds.status().to_string();
  EXPECT_EQ(embeds->shape(), testing::golden_shape("vision_embeds"));

  // Batches hold whole temporal pairs and no more patches than asked (at least one pair).
  const int64_t per_pair = grid[1] * grid[2];
  EXPECT_LE(largest_batch, std::max(GetParam(), per_pair));
  EXPECT_EQ(largest_batch % per_pair, 0);

  std::vector<std::string> names = {"vision.patch_embed_out"};
  for (int b = 0; b < tower->config().depth; ++b) {
    names.push_back("vision.blocks." + std::to_string(b) + ".out");
  }
  names.push_back("vision_embeds");
  for (const std::string& name : names) {
    const std::vector<float> expected = testing::golden_floats(name);
    const std::vector<float>& got = seen[name];
    const double err = testing::rel_l2(got, expected);
    std::printf("[ metric ] %s (batches of %lld patches): rel L2 %.3g\n", name.c_str(),
                static_cast<long long>(largest_batch), err);
    EXPECT_LT(err, kTolerance) << name;
  }
  auto out = embeds->to_float_vector();
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, seen["vision_embeds"]);
}

// One batch holding all 4 pairs; and one pair per batch (128 patches each).
INSTANTIATE_TEST_SUITE_P(Batching, VisionTowerGolden, ::testing::Values(16384, 1));

TEST(VisionTower, RejectsMismatchedInputs) {
  auto checkpoint = Checkpoint::open(testing::golden_path("vamba-tiny"));
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status().to_string();
  auto tower = VisionTower::load(*checkpoint);
  ASSERT_TRUE(tower.ok()) << tower.status().to_string();
  auto pixels = Tensor::zeros({16, 1176}, DType::kF32);
  ASSERT_TRUE(pixels.ok());
  // 16 rows do not make a (1, 4, 8) grid; odd grid sides cannot merge 2x2.
  EXPECT_EQ(tower->encode(*pixels, 1, 4, 8, {}, Stream()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(tower->encode(*pixels, 1, 4, 3, {}, Stream()).status().code(),
            StatusCode::kInvalidArgument);
  auto ok = tower->encode(*pixels, 1, 4, 4, {}, Stream());
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  EXPECT_EQ(ok->dim(0), 4);
  EXPECT_EQ(ok->dim(1), checkpoint->config.vision.hidden_size);
}

}  // namespace
}  // namespace vamba::vision
