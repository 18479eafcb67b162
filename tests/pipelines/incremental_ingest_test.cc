// Incremental ingestion at the engine level, the contract `vamba stream` and StreamVideo rest on:
// encoding a clip frame pair by frame pair (the vision tower on each pair alone, append_video on
// each pair's tokens, the Mamba state carried across) gives the same video state, and the same
// logits for a question, as encoding the whole clip at once. On the CPU in f32 the two differ only
// by summation order. Then the window: dropping the oldest video tokens removes exactly those
// K/V rows and leaves the Mamba states alone.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "engine/models/vamba_lm.h"
#include "engine/state/video_window.h"
#include "tests/testing/golden.h"
#include "vision/tower/vision_tower.h"

namespace vamba {
namespace {

constexpr int64_t kPairs = 6;
constexpr int64_t kGridH = 8, kGridW = 8;  // patches per frame pair side: 16 tokens per pair
constexpr double kTolerance = 1e-5;        // relative L2, f32 on the CPU

struct Model {
  Checkpoint checkpoint;
  std::unique_ptr<vision::VisionTower> tower;
  std::unique_ptr<VambaLm> lm;
};

Model* model() {
  static Model* m = [] {
    auto* out = new Model();
    auto ck = Checkpoint::open(testing::golden_path("vamba-tiny"));
    EXPECT_TRUE(ck.ok()) << ck.status().to_string();
    if (!ck.ok()) return out;
    out->checkpoint = std::move(ck).value();
    auto tower = vision::VisionTower::load(out->checkpoint, Device::cpu());
    EXPECT_TRUE(tower.ok()) << tower.status().to_string();
    if (tower.ok()) out->tower = std::make_unique<vision::VisionTower>(std::move(tower).value());
    auto lm = VambaLm::load(out->checkpoint, Device::cpu(), Stream());
    EXPECT_TRUE(lm.ok()) << lm.status().to_string();
    if (lm.ok()) out->lm = std::move(lm).value();
    return out;
  }();
  return m;
}

// Pixel rows of `pairs` frame pairs in the processor's value range (about ±2), seeded.
Tensor random_pixels(int64_t pairs, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  std::vector<float> v(static_cast<size_t>(pairs * kGridH * kGridW * cols));
  for (float& x : v) x = dist(rng);
  return Tensor::from_floats({pairs * kGridH * kGridW, cols}, v).value();
}

std::vector<float> floats(const Tensor& t) { return t.to_float_vector().value(); }

std::vector<float> logits_for(const VideoState& video, const std::vector<int64_t>& prompt) {
  Model* m = model();
  auto text = m->lm->new_text_state(Stream());
  EXPECT_TRUE(text.ok());
  TextOutput out;
  const Status st = m->lm->forward_text(prompt, video, &*text, &out, Stream());
  EXPECT_TRUE(st.ok()) << st.to_string();
  return st.ok() ? floats(out.logits_last) : std::vector<float>();
}

class IncrementalIngest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_ = model();
    ASSERT_NE(m_->tower, nullptr);
    ASSERT_NE(m_->lm, nullptr);
    const VisionConfig& vc = m_->checkpoint.config.vision;
    cols_ = int64_t{vc.in_channels} * vc.temporal_patch_size * vc.patch_size * vc.patch_size;
    pixels_ = random_pixels(kPairs, cols_, 7);
  }

  // The tower on pairs [begin, end) alone.
  Tensor tower_on(int64_t begin, int64_t end) {
    const int64_t rows = kGridH * kGridW;
    Tensor piece = pixels_.slice_rows(begin * rows, end * rows).value();
    auto out = m_->tower->encode(piece, end - begin, kGridH, kGridW, {}, Stream());
    EXPECT_TRUE(out.ok()) << out.status().to_string();
    return std::move(out).value();
  }

  Model* m_ = nullptr;
  int64_t cols_ = 0;
  Tensor pixels_;
  const std::vector<int64_t> prompt_ = {151644, 872, 198, 3838, 374, 6839, 30, 151645, 198};
};

TEST_F(IncrementalIngest, PairByPairEqualsWholeClip) {
  // Whole: one tower call, one append.
  Tensor whole_tokens = tower_on(0, kPairs);
  auto whole = m_->lm->new_video_state(Stream());
  ASSERT_TRUE(whole.ok());
  ASSERT_TRUE(m_->lm->append_video(whole_tokens, &*whole, Stream()).ok());

  // Pieces: the tower on each pair alone, each pair's tokens appended in turn.
  auto pieces = m_->lm->new_video_state(Stream());
  ASSERT_TRUE(pieces.ok());
  std::vector<float> piecewise_tokens;
  for (int64_t p = 0; p < kPairs; ++p) {
    Tensor t = tower_on(p, p + 1);
    const std::vector<float> v = floats(t);
    piecewise_tokens.insert(piecewise_tokens.end(), v.begin(), v.end());
    ASSERT_TRUE(m_->lm->append_video(t, &*pieces, Stream()).ok());
  }
  // The tower's attention stays inside a pair: its tokens do not depend on the other pairs.
  EXPECT_LT(testing::rel_l2(piecewise_tokens, floats(whole_tokens)), kTolerance);

  ASSERT_EQ(pieces->tokens, whole->tokens);
  ASSERT_EQ(pieces->cross_kv.size(), whole->cross_kv.size());
  // Every layer's K/V (the deeper layers see the Mamba outputs, so this checks the carried state).
  for (size_t l = 0; l < whole->cross_kv.size(); ++l) {
    EXPECT_LT(testing::rel_l2(floats(pieces->cross_kv[l].keys().value()),
                              floats(whole->cross_kv[l].keys().value())),
              kTolerance)
        << "layer " << l;
    EXPECT_LT(testing::rel_l2(floats(pieces->cross_kv[l].values().value()),
                              floats(whole->cross_kv[l].values().value())),
              kTolerance)
        << "layer " << l;
  }
  for (size_t l = 0; l < whole->mamba.size(); ++l) {
    EXPECT_LT(testing::rel_l2(floats(pieces->mamba[l].ssm), floats(whole->mamba[l].ssm)),
              kTolerance)
        << "layer " << l;
  }
  const std::vector<float> a = logits_for(*pieces, prompt_);
  const std::vector<float> b = logits_for(*whole, prompt_);
  ASSERT_FALSE(b.empty());
  EXPECT_LT(testing::rel_l2(a, b), kTolerance);
}

TEST_F(IncrementalIngest, DroppingOldestTokensRemovesExactlyThoseRows) {
  Tensor tokens = tower_on(0, kPairs);
  auto video = m_->lm->new_video_state(Stream());
  ASSERT_TRUE(video.ok());
  ASSERT_TRUE(m_->lm->append_video(tokens, &*video, Stream()).ok());
  const int64_t total = video_tokens_held(*video);
  ASSERT_EQ(total, tokens.dim(0));
  std::vector<std::vector<float>> keys, values, ssm;
  for (const KvBuffer& kv : video->cross_kv) {
    keys.push_back(floats(kv.keys().value()));
    values.push_back(floats(kv.values().value()));
  }
  for (const MambaLayerState& s : video->mamba) ssm.push_back(floats(s.ssm));
  const std::vector<float> before = logits_for(*video, prompt_);

  const int64_t drop = total / kPairs * 2;  // two pairs' tokens
  ASSERT_TRUE(drop_oldest_video_tokens(&*video, drop, Stream()).ok());
  EXPECT_EQ(video_tokens_held(*video), total - drop);
  EXPECT_EQ(video->tokens, total);  // still counts every token appended
  for (size_t l = 0; l < video->cross_kv.size(); ++l) {
    const size_t row = keys[l].size() / total;
    const std::vector<float> k = floats(video->cross_kv[l].keys().value());
    const std::vector<float> v = floats(video->cross_kv[l].values().value());
    EXPECT_EQ(k, std::vector<float>(keys[l].begin() + drop * row, keys[l].end())) << l;
    EXPECT_EQ(v, std::vector<float>(values[l].begin() + drop * row, values[l].end())) << l;
  }
  for (size_t l = 0; l < video->mamba.size(); ++l) EXPECT_EQ(floats(video->mamba[l].ssm), ssm[l]);
  // The text now attends to fewer tokens: the logits move.
  const std::vector<float> after = logits_for(*video, prompt_);
  EXPECT_GT(testing::rel_l2(after, before), 1e-4);

  // More video continues from the untouched Mamba states.
  ASSERT_TRUE(m_->lm->append_video(tower_on(0, 1), &*video, Stream()).ok());
  EXPECT_EQ(video_tokens_held(*video), total - drop + total / kPairs);

  EXPECT_EQ(drop_oldest_video_tokens(&*video, -1, Stream()).code(), StatusCode::kOutOfRange);
  EXPECT_EQ(drop_oldest_video_tokens(&*video, video_tokens_held(*video) + 1, Stream()).code(),
            StatusCode::kOutOfRange);
  EXPECT_EQ(drop_oldest_video_tokens(nullptr, 1, Stream()).code(), StatusCode::kInvalidArgument);
}

// KvBuffer::drop_front both ways: in place (many rows dropped) and into fresh storage (few rows
// dropped from many), each keeping the capacity.
TEST(KvBufferDropFront, KeepsTheNewestRowsAndTheCapacity) {
  for (const int64_t drop : {1, 3, 5, 20, 39, 40}) {
    KvBuffer kv(2, 4, DType::kF32, Device::cpu());
    ASSERT_TRUE(kv.reserve(64, Stream()).ok());
    std::vector<float> k(40 * 8), v(40 * 8);
    for (size_t i = 0; i < k.size(); ++i) {
      k[i] = static_cast<float>(i);
      v[i] = -static_cast<float>(i);
    }
    ASSERT_TRUE(kv.append(Tensor::from_floats({40, 2, 4}, k).value(),
                          Tensor::from_floats({40, 2, 4}, v).value(), Stream())
                    .ok());
    ASSERT_TRUE(kv.drop_front(drop, Stream()).ok()) << drop;
    EXPECT_EQ(kv.length(), 40 - drop);
    EXPECT_EQ(kv.capacity(), 64);
    EXPECT_EQ(floats(kv.keys().value()), std::vector<float>(k.begin() + drop * 8, k.end()));
    EXPECT_EQ(floats(kv.values().value()), std::vector<float>(v.begin() + drop * 8, v.end()));
  }
  KvBuffer kv(2, 4, DType::kF32, Device::cpu());
  EXPECT_EQ(kv.drop_front(1, Stream()).code(), StatusCode::kOutOfRange);
  EXPECT_TRUE(kv.drop_front(0, Stream()).ok());
}

}  // namespace
}  // namespace vamba
