// Hour-long video on bounded memory (issue #9), at the golden tiny model on the CPU:
//   - the video pass in chunks equals the whole pass, for chunk sizes of one token, ones that split
//     an SSD chunk, exactly one SSD chunk and one more than it (cross K/V of every layer, Mamba
//     states and the question's logits);
//   - the fp8 e4m3 K/V store against the exact store, within a stated bound, appended whole, in
//     odd pieces and after dropping its oldest rows;
//   - the memory planner's figures and its refusal.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <memory>

#include "cli/random_checkpoint.h"
#include "engine/models/vamba_lm.h"
#include "engine/state/memory_plan.h"
#include "tests/testing/golden.h"
#include "tests/testing/golden_lm.h"
#include "tests/testing/golden_tensors.h"

namespace vamba {
namespace {

using testing::golden_ints;
using testing::golden_path;
using testing::rel_l2;

// fp32 throughout; chunking only changes the order of the SSD's sums.
constexpr double kChunkTol = 1e-5;
// fp8 e4m3 keeps 3 mantissa bits: each stored K/V element is within half a step, |x|/16, of its
// value (≈ 1/28 RMS for values spread over a binade). The attention output is a softmax-weighted
// mean of V rows, so its error is at most V's; the keys perturb the softmax weights by
// exp(q·δk·scale) ≈ 1 ± a few percent. Through the o projection, the residual stream (where the
// cross-attention output is one of several summands) and the final norm, the logits move by
// less than the K/V themselves. Bound: 5e-2 relative L2 on the logits and hidden states, and on the
// dequantized K/V (measured values are printed).
constexpr double kFp8Tol = 5e-2;

using Shared = testing::GoldenLm;

// The shared CPU model and float views (tests/testing/golden_lm.h).
Shared* shared() { return testing::golden_cpu_lm(); }
std::vector<float> values(const Tensor& t) { return testing::tensor_values(t); }

class LongVideo : public ::testing::Test {
 protected:
  void SetUp() override {
    lm_ = shared()->lm.get();
    ASSERT_NE(lm_, nullptr);
    ids_ = golden_ints("input_ids");
    ASSERT_FALSE(ids_.empty());
    auto v = testing::golden_tensor("vision_embeds");
    ASSERT_TRUE(v.ok()) << v.status().to_string();
    v0_ = *v;
  }

  // The video appended in pieces (each split again at max_chunk), then the question.
  VideoState encode(const std::vector<int64_t>& pieces, int64_t max_chunk, KvStore store,
                    TextOutput* out) {
    auto video = lm_->new_video_state(stream_, 0, store);
    EXPECT_TRUE(video.ok()) << video.status().to_string();
    VideoOptions opt;
    opt.max_chunk_tokens = max_chunk;
    int64_t at = 0;
    for (int64_t n : pieces) {
      auto piece = v0_.slice_rows(at, at + n);
      EXPECT_TRUE(piece.ok());
      const Status st = lm_->append_video(*piece, &*video, stream_, opt);
      EXPECT_TRUE(st.ok()) << st.to_string();
      at += n;
    }
    EXPECT_EQ(at, v0_.dim(0));
    auto text = lm_->new_text_state(stream_);
    EXPECT_TRUE(text.ok());
    const Status st = lm_->forward_text(ids_, *video, &*text, out, stream_);
    EXPECT_TRUE(st.ok()) << st.to_string();
    return std::move(video).value();
  }

  static std::vector<float> kv_values(const KvBuffer& kv, bool keys) {
    Tensor k, v;
    EXPECT_TRUE(kv.read(&k, &v, Stream()).ok());
    return values(keys ? k : v);
  }

  VambaLm* lm_ = nullptr;
  Stream stream_;
  std::vector<int64_t> ids_;
  Tensor v0_;
};

TEST_F(LongVideo, ChunkedPrefillEqualsWholeForEveryChunkSize) {
  const int64_t m = v0_.dim(0);
  const int64_t ssd_chunk = lm_->config().mamba.chunk_size;
  ASSERT_GT(m, ssd_chunk + 8) << "the golden video must span several SSD chunks";
  TextOutput whole_out;
  const VideoState whole = encode({m}, 0, KvStore::kActivation, &whole_out);
  auto expect_same_as_whole = [&](const VideoState& chunked, const TextOutput& out) {
    ASSERT_EQ(chunked.tokens, m);
    for (size_t l = 0; l < whole.cross_kv.size(); ++l) {
      EXPECT_LE(rel_l2(kv_values(chunked.cross_kv[l], true), kv_values(whole.cross_kv[l], true)),
                kChunkTol)
          << "layer " << l << " keys";
      EXPECT_LE(rel_l2(kv_values(chunked.cross_kv[l], false), kv_values(whole.cross_kv[l], false)),
                kChunkTol)
          << "layer " << l << " values";
    }
    for (size_t l = 0; l < whole.mamba.size(); ++l) {
      EXPECT_LE(rel_l2(values(chunked.mamba[l].ssm), values(whole.mamba[l].ssm)), kChunkTol)
          << "layer " << l << " SSM state";
      EXPECT_LE(rel_l2(values(chunked.mamba[l].conv), values(whole.mamba[l].conv)), kChunkTol)
          << "layer " << l << " conv state";
    }
    EXPECT_LE(rel_l2(values(out.logits_last), values(whole_out.logits_last)), kChunkTol);
  };
  for (int64_t chunk :
       {int64_t{1}, int64_t{7}, ssd_chunk / 2 + 3, ssd_chunk - 1, ssd_chunk, ssd_chunk + 1}) {
    SCOPED_TRACE("max_chunk_tokens " + std::to_string(chunk));
    TextOutput out;
    const VideoState chunked = encode({m}, chunk, KvStore::kActivation, &out);
    expect_same_as_whole(chunked, out);
  }
  // Uneven pieces (as the tower's batches arrive), each chunked again, with a one-token piece; and
  // the same pieces unsplit.
  for (int64_t chunk : {ssd_chunk / 3, int64_t{0}}) {
    SCOPED_TRACE("uneven pieces, max_chunk_tokens " + std::to_string(chunk));
    TextOutput out;
    const VideoState chunked =
        encode({1, ssd_chunk + 5, 2, m - ssd_chunk - 8}, chunk, KvStore::kActivation, &out);
    expect_same_as_whole(chunked, out);
  }
}

TEST_F(LongVideo, Fp8StoreStaysWithinItsBound) {
  const int64_t m = v0_.dim(0);
  TextOutput exact_out, fp8_out, pieces_out;
  const VideoState exact = encode({m}, 0, KvStore::kActivation, &exact_out);
  const VideoState fp8 = encode({m}, 0, KvStore::kFp8E4M3, &fp8_out);
  const VideoState pieces = encode({1, 50, 3, m - 54}, 17, KvStore::kFp8E4M3, &pieces_out);
  double worst_kv = 0;
  for (size_t l = 0; l < exact.cross_kv.size(); ++l) {
    for (bool keys : {true, false}) {
      const double d = rel_l2(kv_values(fp8.cross_kv[l], keys), kv_values(exact.cross_kv[l], keys));
      const double dp =
          rel_l2(kv_values(pieces.cross_kv[l], keys), kv_values(exact.cross_kv[l], keys));
      worst_kv = std::max({worst_kv, d, dp});
    }
    // Half the bytes of the exact (f32 here: a quarter) store, plus the block scales.
    EXPECT_LT(fp8.cross_kv[l].bytes(), exact.cross_kv[l].bytes() / 3);
  }
  const double logits = rel_l2(values(fp8_out.logits_last), values(exact_out.logits_last));
  const double hidden = rel_l2(values(fp8_out.hidden), values(exact_out.hidden));
  const double logits_pieces =
      rel_l2(values(pieces_out.logits_last), values(exact_out.logits_last));
  std::cout << "[ metric ] fp8 K/V rel L2 worst layer " << worst_kv << "; logits " << logits
            << " (in pieces " << logits_pieces << "), hidden " << hidden << "\n";
  EXPECT_LE(worst_kv, kFp8Tol);
  EXPECT_LE(logits, kFp8Tol);
  EXPECT_LE(hidden, kFp8Tol);
  EXPECT_LE(logits_pieces, kFp8Tol);
  // And it is not the exact store by accident.
  EXPECT_GT(worst_kv, 0.0);
}

TEST_F(LongVideo, Fp8DropFrontKeepsTheNewestRows) {
  const int64_t m = v0_.dim(0);
  TextOutput out;
  VideoState exact = encode({m}, 0, KvStore::kActivation, &out);
  VideoState fp8 = encode({m}, 0, KvStore::kFp8E4M3, &out);
  const int64_t drop = 37;  // not a multiple of the 64-token scale block
  KvBuffer& kv = fp8.cross_kv[0];
  ASSERT_TRUE(kv.drop_front(drop, stream_).ok());
  ASSERT_EQ(kv.length(), m - drop);
  const std::vector<float> all = kv_values(exact.cross_kv[0], true);
  const size_t row = all.size() / static_cast<size_t>(m);
  const std::vector<float> want(all.begin() + static_cast<int64_t>(drop * row), all.end());
  EXPECT_LE(rel_l2(kv_values(kv, true), want), kFp8Tol);
  EXPECT_FALSE(kv.keys().ok());  // an fp8 store is read with read(), not viewed
}

TEST(MemoryPlan, SevenBFigures) {
  const VambaConfig c = vamba_7b_config();
  VideoMemoryShape shape;
  shape.video_tokens = 1;
  shape.max_chunk_tokens = 1;
  shape.tower_patches = 0;
  // 28 layers × (K + V) × 4 KV heads × 128 × 2 bytes.
  EXPECT_EQ(plan_video_memory(c, DType::kBF16, shape).kv_bytes, 57344);
  shape.kv_store = KvStore::kFp8E4M3;
  const int64_t fp8 = plan_video_memory(c, DType::kBF16, shape).kv_bytes;
  EXPECT_GE(fp8, 57344 / 2);
  EXPECT_LE(fp8, 57344 / 2 + 28 * 2);  // scales: 2 × 4 heads × 4 bytes per 64 tokens
  int64_t previous = 0;
  for (int64_t tokens : {16384, 131072, 524288, 1048576}) {
    for (KvStore store : {KvStore::kActivation, KvStore::kFp8E4M3}) {
      VideoMemoryShape s;
      s.video_tokens = tokens;
      s.kv_store = store;
      const VideoMemoryPlan p = plan_video_memory(c, DType::kBF16, s);
      std::cout << "[ metric ] 7B plan " << tokens << " tokens " << kv_store_name(store) << ": "
                << format_bytes(p.total_bytes()) << " (K/V " << format_bytes(p.kv_bytes)
                << ", LM chunk " << format_bytes(p.lm_chunk_bytes) << ", tower batch "
                << format_bytes(p.tower_bytes) << ", its v0 " << format_bytes(p.v0_bytes) << ")\n";
      if (store == KvStore::kActivation) {
        EXPECT_GT(p.total_bytes(), previous);
        previous = p.total_bytes();
      }
      // Working memory is bounded by the chunk and the batch, not the video.
      EXPECT_LT(p.working_bytes(), int64_t{8} << 30);
      if (tokens > 16384) {
        VideoMemoryShape small = s;
        small.video_tokens = 16384;
        EXPECT_EQ(p.working_bytes(), plan_video_memory(c, DType::kBF16, small).working_bytes());
      }
    }
  }
}

TEST(MemoryPlan, RefusesWhatDoesNotFit) {
  VideoMemoryPlan plan;
  plan.video_tokens = 524288;
  plan.kv_bytes = int64_t{30} << 30;
  plan.lm_chunk_bytes = int64_t{1} << 30;
  EXPECT_TRUE(check_video_fits(plan, int64_t{40} << 30).ok());
  const Status st = check_video_fits(plan, int64_t{20} << 30);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(st.message().find("524288 video tokens"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("fp8"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("31.00 GiB"), std::string::npos) << st.message();  // needed
  EXPECT_NE(st.message().find("20.00 GiB is available"), std::string::npos) << st.message();
  // A configured cap wins over what the machine has.
  auto capped = available_video_memory(Device::cpu(), 0, 12345);
  ASSERT_TRUE(capped.ok());
  EXPECT_EQ(*capped, 12345);
}

}  // namespace
}  // namespace vamba
