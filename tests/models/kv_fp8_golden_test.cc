// The fp8 e4m3 store of the video's cross-attention K/V (KvStore::kFp8E4M3) in the golden tiny
// model on the CPU, measured against the reference's fp32 golden tensors and against the exact
// store:
//   - the question's logits_last and last_hidden_state within a stated bound, and the 16 greedy
//     tokens of the cached decode equal to the golden ones;
//   - the video appended in odd pieces (straddling the 64-token scale blocks, landing in partly
//     filled ones) against the video appended at once, both fp8;
//   - the engine's stored K/V bit-equal to the CPU reference quantizing the exact store's rows
//     (kernels/reference/kv_fp8.h), through growth of the buffer, and after drop_front of a count
//     that is not a multiple of the block.
// Each test prints the distances it measured ("[ metric ]" lines).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <iostream>
#include <memory>

#include "engine/generate/generate.h"
#include "engine/models/vamba_lm.h"
#include "kernels/reference/kv_fp8.h"
#include "tests/testing/golden.h"
#include "tests/testing/golden_lm.h"
#include "tests/testing/golden_tensors.h"

namespace vamba {
namespace {

using testing::golden_floats;
using testing::golden_ints;
using testing::golden_path;
using testing::rel_l2;

// fp8 against fp32. e4m3 keeps 3 mantissa bits, so a stored K/V element is within half a step of
// its value: at most 2^-4 of it, and 2^-4/√3 ≈ 3.6e-2 RMS for values spread over a binade (the
// block scale maps each block's absmax to 448, so no element loses range; an element under
// absmax·2^-15, a subnormal code, is negligible in an L2 norm). Those errors are independent across
// elements: the attention output is a softmax-weighted mean of V rows, which averages them over
// the keys, and K errors move each score q·k/√d by a few percent of itself; the cross-attention
// output is then one summand of the residual stream. So the logits and hidden states move by less
// than the K/V's own RMS error: bound 2^-5 ≈ 3.1e-2 (measured about 6e-3, printed). Greedy tokens
// must not change.
constexpr double kFp8VsFp32 = 1.0 / 32;
// The K/V themselves: one rounding is within half a step, 2^-4 of each element, so their relative
// L2 against the exact rows is below 2^-4 (RMS ≈ 3.6e-2 at most). Appending in pieces differs from
// appending at once by the SSD's summation order (≈ 1e-6, golden test) and by one more rounding of
// the rows of a block filled over several appends, requantized when its scale grows: against the
// one-piece fp8 store that is again one rounding of those rows, within the same 2^-4 (drop_front
// requantizes the same way). On the logits and hidden states the fp8-vs-fp32 bound applies.
constexpr double kKvRoundingBound = 1.0 / 16;

using Shared = testing::GoldenLm;

// The shared CPU model and float views (tests/testing/golden_lm.h).
Shared* shared() { return testing::golden_cpu_lm(); }
std::vector<float> values(const Tensor& t) { return testing::tensor_values(t); }

class KvFp8Golden : public ::testing::Test {
 protected:
  void SetUp() override {
    lm_ = shared()->lm.get();
    ASSERT_NE(lm_, nullptr);
    ids_ = golden_ints("input_ids");
    ASSERT_EQ(ids_.size(), 28u);
    auto v = testing::golden_tensor("vision_embeds");
    ASSERT_TRUE(v.ok()) << v.status().to_string();
    v0_ = *v;
  }

  // The golden video appended in pieces of the given sizes (no capacity hint: the buffers grow).
  VideoState encode(const std::vector<int64_t>& pieces, KvStore store) {
    auto video = lm_->new_video_state(stream_, 0, store);
    EXPECT_TRUE(video.ok()) << video.status().to_string();
    int64_t at = 0;
    for (int64_t n : pieces) {
      auto piece = v0_.slice_rows(at, at + n);
      EXPECT_TRUE(piece.ok());
      const Status st = lm_->append_video(*piece, &*video, stream_);
      EXPECT_TRUE(st.ok()) << st.to_string();
      at += n;
    }
    EXPECT_EQ(at, v0_.dim(0));
    return std::move(video).value();
  }

  TextOutput question(const VideoState& video) {
    TextOutput out;
    auto text = lm_->new_text_state(stream_);
    EXPECT_TRUE(text.ok());
    const Status st = lm_->forward_text(ids_, video, &*text, &out, stream_);
    EXPECT_TRUE(st.ok()) << st.to_string();
    return out;
  }

  static std::vector<float> read(const KvBuffer& kv, bool keys) {
    Tensor k, v;
    const Status st = kv.read(&k, &v, Stream());
    EXPECT_TRUE(st.ok()) << st.to_string();
    return values(keys ? k : v);
  }

  const VambaLm* lm_ = nullptr;
  Stream stream_;
  std::vector<int64_t> ids_;
  Tensor v0_;
};

TEST_F(KvFp8Golden, QuestionAndGreedyTokensAgainstTheGolden) {
  const VideoState video = encode({128}, KvStore::kFp8E4M3);
  ASSERT_EQ(video.cross_kv.front().store(), KvStore::kFp8E4M3);
  const TextOutput out = question(video);
  const double logits = rel_l2(values(out.logits_last), golden_floats("logits_last"));
  const double hidden = rel_l2(values(out.hidden), golden_floats("last_hidden_state"));

  auto text = lm_->new_text_state(stream_);
  ASSERT_TRUE(text.ok());
  GenerateOptions opt;
  opt.max_new_tokens = 16;
  auto result = generate(*lm_, ids_, video, &*text, opt, stream_);
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  std::cout << "[ metric ] fp8 store vs golden fp32: logits_last rel L2 " << logits
            << ", last_hidden_state rel L2 " << hidden << "\n";
  EXPECT_LE(logits, kFp8VsFp32);
  EXPECT_LE(hidden, kFp8VsFp32);
  EXPECT_GT(logits, 1e-4);  // the fp32 engine's own distance: fp8 must actually be in use
  EXPECT_EQ(result->tokens, golden_ints("greedy_ids"));
}

TEST_F(KvFp8Golden, OddPiecesAgainstOnePiece) {
  const VideoState whole = encode({128}, KvStore::kFp8E4M3);
  // 37 | 27 fill block 0 over two appends; 23 | 41 likewise block 1; single rows inside blocks.
  const VideoState pieces = encode({37, 1, 26, 23, 41}, KvStore::kFp8E4M3);
  const TextOutput a = question(whole), b = question(pieces);
  const double logits = rel_l2(values(b.logits_last), values(a.logits_last));
  const double hidden = rel_l2(values(b.hidden), values(a.hidden));
  double worst_kv = 0;
  for (size_t l = 0; l < whole.cross_kv.size(); ++l) {
    for (bool keys : {true, false}) {
      worst_kv =
          std::max(worst_kv, rel_l2(read(pieces.cross_kv[l], keys), read(whole.cross_kv[l], keys)));
    }
  }
  std::cout << "[ metric ] fp8 in pieces vs fp8 at once: K/V worst layer rel L2 " << worst_kv
            << ", logits_last " << logits << ", last_hidden_state " << hidden << "\n";
  EXPECT_LE(worst_kv, kKvRoundingBound);
  EXPECT_LE(logits, kFp8VsFp32);
  EXPECT_LE(hidden, kFp8VsFp32);
}

// The exact store's rows of one layer, quantized by the reference in the same pieces.
struct RefStore {
  std::vector<uint8_t> data;
  std::vector<float> scales;
};

RefStore reference_store(const std::vector<float>& rows, int64_t heads, int64_t head_dim,
                         const std::vector<int64_t>& pieces) {
  const int64_t row = heads * head_dim;
  const int64_t n = static_cast<int64_t>(rows.size()) / row;
  RefStore s;
  s.data.assign(rows.size(), 0);
  s.scales.assign((n + kFp8KvBlockTokens - 1) / kFp8KvBlockTokens * heads, 0.0f);
  int64_t at = 0;
  for (int64_t p : pieces) {
    kernels::reference::kv_fp8_append(rows.data() + at * row, p, at, heads, head_dim,
                                      kFp8KvBlockTokens, s.data.data(), s.scales.data());
    at += p;
  }
  return s;
}

std::vector<float> reference_rows(const RefStore& s, int64_t rows, int64_t heads,
                                  int64_t head_dim) {
  std::vector<float> out(rows * heads * head_dim);
  kernels::reference::kv_fp8_dequantize(s.data.data(), s.scales.data(), rows, heads, head_dim,
                                        kFp8KvBlockTokens, out.data());
  return out;
}

bool bit_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST_F(KvFp8Golden, EngineStoreIsTheReferenceBitForBit) {
  // The layers' K/V depend only on the video (v_l), so the exact store's rows are what the fp8
  // store quantized, in the same pieces.
  const std::vector<int64_t> pieces = {5, 70, 1, 52};
  const VideoState exact = encode(pieces, KvStore::kActivation);
  VideoState fp8 = encode(pieces, KvStore::kFp8E4M3);
  double worst = 0;
  for (size_t l = 0; l < exact.cross_kv.size(); ++l) {
    const KvBuffer& kv = fp8.cross_kv[l];
    for (bool keys : {true, false}) {
      const std::vector<float> want = read(exact.cross_kv[l], keys);
      const std::vector<float> got = read(kv, keys);
      const RefStore ref = reference_store(want, kv.heads(), kv.head_dim(), pieces);
      EXPECT_TRUE(bit_equal(got, reference_rows(ref, 128, kv.heads(), kv.head_dim())))
          << "layer " << l << (keys ? " keys" : " values");
      worst = std::max(worst, rel_l2(got, want));
    }
  }
  std::cout << "[ metric ] fp8 K/V vs exact K/V (pieces 5, 70, 1, 52): worst layer rel L2 " << worst
            << "\n";
  EXPECT_LE(worst, kKvRoundingBound);
  // Storage: one byte per element plus one f32 per (block, head), keys and values.
  KvBuffer& kv = fp8.cross_kv[0];
  const size_t blocks =
      static_cast<size_t>((kv.capacity() + kFp8KvBlockTokens - 1) / kFp8KvBlockTokens);
  EXPECT_EQ(kv.bytes(), 2 * static_cast<size_t>(kv.capacity() * kv.heads() * kv.head_dim()) +
                            2 * blocks * static_cast<size_t>(kv.heads()) * sizeof(float));
  EXPECT_FALSE(kv.extend(1, stream_).ok());  // the fused bf16 append cannot write fp8 rows
}

TEST_F(KvFp8Golden, DropFrontRequantizesTheKeptRows) {
  for (int64_t drop : {37, 64, 100}) {  // inside a block, a whole block, into the last block
    SCOPED_TRACE(drop);
    VideoState fp8 = encode({128}, KvStore::kFp8E4M3);
    KvBuffer& kv = fp8.cross_kv[1];
    const std::vector<float> before = read(kv, true);
    ASSERT_TRUE(kv.drop_front(drop, stream_).ok());
    ASSERT_EQ(kv.length(), 128 - drop);
    const int64_t row = kv.heads() * kv.head_dim();
    // The kept rows as they were stored, requantized from row 0 by the reference.
    const std::vector<float> kept(before.begin() + drop * row, before.end());
    const RefStore ref = reference_store(kept, kv.heads(), kv.head_dim(), {128 - drop});
    const std::vector<float> got = read(kv, true);
    EXPECT_TRUE(bit_equal(got, reference_rows(ref, 128 - drop, kv.heads(), kv.head_dim())));
    std::cout << "[ metric ] fp8 drop_front(" << drop << "): kept rows moved by rel L2 "
              << rel_l2(got, kept) << "\n";
    EXPECT_LE(rel_l2(got, kept), kKvRoundingBound);
    // And appending after the drop continues the store.
    auto more = Tensor::from_floats({1, kv.heads(), kv.head_dim()},
                                    std::vector<float>(static_cast<size_t>(row), 0.5f));
    ASSERT_TRUE(more.ok());
    ASSERT_TRUE(kv.append(*more, *more, stream_).ok());
    EXPECT_EQ(kv.length(), 129 - drop);
    const std::vector<float> last = read(kv, false);
    EXPECT_NEAR(last.back(), 0.5f, 0.5f / 16);
  }
}

TEST_F(KvFp8Golden, BadStoreNamesAreRejected) {
  EXPECT_EQ(parse_kv_store("fp8"), KvStore::kFp8E4M3);
  EXPECT_EQ(parse_kv_store("bf16"), KvStore::kActivation);
  EXPECT_FALSE(parse_kv_store("fp4").has_value());
  EXPECT_FALSE(parse_kv_store("").has_value());
}

}  // namespace
}  // namespace vamba
