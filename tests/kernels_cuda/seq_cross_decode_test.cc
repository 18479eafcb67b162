// The few-row cross-attention decode kernel (kernels/attention/cross_decode.h) against the CPU
// reference (kernels/reference/attention.h, non-causal): one or a few queries over the same video's
// keys, at the 7B shapes (28 heads over 4 kv heads: group 7, head_dim 128) and the tiny model's
// (group 2, head_dim 32); 1, 2–16 queries (one row tile, two, several row groups); key counts that
// are not a multiple of the 16-key tile, 1 and 5 keys (warps with no tile), none (zeros), planned
// and forced key splits (one split writes o directly). Cache rows past kv_len hold NaN (bf16 NaN,
// fp8 code 0xff and NaN scales past the last block) and outputs are poisoned, so a stray read or
// a missed write fails.
// fp8 e4m3 keys/values: the store is filled by the CPU reference quantizer (kernels/reference/
// kv_fp8.h) and the reference attention reads its dequantized values, so only the kernel's own
// rounding counts. Tolerance: as the flash kernel's (seq_attention_test.cc): fp32 softmax, P
// rounded to bf16 before P·V and one bf16 rounding of the output ≈ 2.1e-3 relative L2; 5e-3.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/attention/cross_decode.h"
#include "kernels/reference/attention.h"
#include "kernels/reference/kv_fp8.h"
#include "tests/kernels_cuda/seq_test_util.h"

namespace vamba::seqtest {
namespace {

using kernels::CrossDecodeKv;

struct CrossCase {
  std::string name;
  int64_t n_q = 1, n_k = 0;
  int hq = 28, hkv = 4, d = 128;
  bool fp8 = false;
  int num_splits = 0;  // 0: planned
};

void run_cross(const CrossCase& c, uint32_t seed) {
  SCOPED_TRACE(c.name);
  SEQ_REQUIRE_DEVICE();
  std::mt19937 rng(seed);
  constexpr int64_t kBlock = kernels::kCrossDecodeScaleTokens;
  const int64_t row = int64_t{c.hkv} * c.d;
  const int64_t cap = c.n_k + 37;  // spare rows past the keys, reaching into another scale block
  const int64_t blocks = (cap + kBlock - 1) / kBlock;
  const std::vector<float> q = random_bf16_values(size_t(c.n_q) * c.hq * c.d, rng);
  std::vector<float> k = random_bf16_values(size_t(c.n_k) * row, rng);
  std::vector<float> v = random_bf16_values(size_t(c.n_k) * row, rng);

  // The device copies of K/V (NaN past n_k) and, for fp8, the values the reference must read.
  DevBuf<bf16> dk, dv;
  DevBuf<uint8_t> dk8, dv8;
  DevBuf<float> dks, dvs;
  if (c.fp8) {
    for (auto [src, codes_dev, scales_dev] :
         {std::tuple{&k, &dk8, &dks}, std::tuple{&v, &dv8, &dvs}}) {
      std::vector<uint8_t> codes(cap * row, 0xff);
      std::vector<float> scales(blocks * c.hkv);
      std::memset(scales.data(), 0xff, scales.size() * sizeof(float));
      kernels::reference::kv_fp8_append(src->data(), c.n_k, 0, c.hkv, c.d, kBlock, codes.data(),
                                        scales.data());
      kernels::reference::kv_fp8_dequantize(codes.data(), scales.data(), c.n_k, c.hkv, c.d, kBlock,
                                            src->data());
      *codes_dev = DevBuf<uint8_t>(codes);
      *scales_dev = DevBuf<float>(scales);
    }
  } else {
    for (auto [src, dev] : {std::pair{&k, &dk}, std::pair{&v, &dv}}) {
      std::vector<bf16> h(cap * row, bf16{0xffff});
      const std::vector<bf16> b = to_bf16(*src);
      std::copy(b.begin(), b.end(), h.begin());
      *dev = DevBuf<bf16>(h);
    }
  }

  kernels::reference::AttentionParams rp;
  rp.n_q = c.n_q;
  rp.n_k = c.n_k;
  rp.num_heads = c.hq;
  rp.num_kv_heads = c.hkv;
  rp.head_dim = c.d;
  rp.scale = 1.0f / std::sqrt(static_cast<float>(c.d));
  std::vector<float> ref(q.size());
  kernels::reference::attention(q.data(), k.data(), v.data(), ref.data(), rp);

  DevBuf<bf16> dq(to_bf16(q)), dout(q.size());
  dout.poison();
  kernels::CrossDecodeParams p;
  p.q = dq.get();
  p.o = dout.get();
  if (c.fp8) {
    p.kv_type = CrossDecodeKv::kFp8E4M3;
    p.k = dk8.get();
    p.v = dv8.get();
    p.k_scales = dks.get();
    p.v_scales = dvs.get();
  } else {
    p.k = dk.get();
    p.v = dv.get();
  }
  p.q_token_stride = p.o_token_stride = int64_t{c.hq} * c.d;
  p.q_head_stride = p.o_head_stride = c.d;
  p.k_token_stride = p.v_token_stride = row;
  p.k_head_stride = p.v_head_stride = c.d;
  p.num_heads = c.hq;
  p.num_kv_heads = c.hkv;
  p.head_dim = c.d;
  p.q_len = c.n_q;
  p.kv_len = c.n_k;
  p.scale = rp.scale;
  p.num_splits = c.num_splits;
  const char* why = kernels::cross_decode_can_implement(p);
  ASSERT_EQ(why, nullptr) << why;
  const kernels::CrossDecodePlan plan = kernels::cross_decode_plan(p);
  if (c.num_splits > 0) {
    EXPECT_EQ(plan.num_splits, c.num_splits) << "forced splits not kept";
  }
  DevBuf<unsigned char> ws(plan.workspace_bytes);
  ws.poison();
  p.workspace = ws.get();
  p.workspace_bytes = plan.workspace_bytes;
  SEQ_EXPECT_LAUNCH(kernels::cross_decode_attention(p, nullptr));

  const std::vector<float> got = to_float(dout.download());
  if (c.n_k == 0) {  // no key: zeros, like the reference
    for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], 0.0f) << "element " << i;
    return;
  }
  const double err = testing::rel_l2(got, ref);
  std::printf("seq-parity cross_decode %s splits=%d rel_l2=%.3e\n", c.name.c_str(), plan.num_splits,
              err);
  EXPECT_LT(err, 5e-3) << "splits " << plan.num_splits;
}

TEST(SeqCrossDecode, OneQuery7BOverManyKeys) {
  // 1500: planned splits (six of 256 keys: four tiles per warp), the last tile partial.
  run_cross({"7b_q1", 1, emulated() ? 1500 : 131072}, 1);
  if (!emulated()) run_cross({"7b_q1_512k", 1, 524288}, 2);
}

TEST(SeqCrossDecode, OneAndFewKeys) {
  run_cross({"7b_k1", 1, 1}, 3);
  run_cross({"7b_k5", 1, 5}, 4);  // three warps without a tile
  run_cross({"tiny_k17", 1, 17, 4, 2, 32}, 5);
  run_cross({"7b_k0", 1, 0}, 6);  // no key at all: zeros
}

TEST(SeqCrossDecode, TinyModelGroupTwo) {
  run_cross({"tiny_q1", 1, emulated() ? 777 : 100000, 4, 2, 32}, 7);
  run_cross({"tiny_q1_splits3", 1, emulated() ? 500 : 20000, 4, 2, 32, false, 3}, 8);
}

TEST(SeqCrossDecode, SeveralQueriesOverOneVideo) {
  const int64_t n = emulated() ? 150 : 20000;
  run_cross({"7b_q2_one_row_tile", 2, n}, 9);                          // 14 rows
  run_cross({"7b_q3_two_row_tiles", 3, n}, 10);                        // 21 rows
  run_cross({"7b_q5_two_row_groups", 5, n}, 11);                       // 35 rows
  run_cross({"7b_q16_four_row_groups", 16, emulated() ? 40 : n}, 12);  // 112 rows
  run_cross({"tiny_q16", 16, n, 4, 2, 32}, 13);                        // 32 rows
}

TEST(SeqCrossDecode, ForcedSplits) {
  // One split: o written by the block itself, and 16 tiles per warp go round the stage ring.
  run_cross({"7b_one_split", 2, emulated() ? 1000 : 8000, 28, 4, 128, false, 1}, 14);
  // Splits cover whole 64-key blocks: 300 keys are five blocks, one per split.
  run_cross({"tiny_splits5", 3, emulated() ? 300 : 5000, 4, 2, 32, false, 5}, 15);
}

TEST(SeqCrossDecode, Fp8KeysAndValues) {
  run_cross({"fp8_7b_q1", 1, emulated() ? 300 : 131072, 28, 4, 128, true}, 16);
  run_cross({"fp8_7b_k1", 1, 1, 28, 4, 128, true}, 17);
  run_cross({"fp8_7b_q3", 3, emulated() ? 130 : 20000, 28, 4, 128, true}, 18);
  run_cross({"fp8_tiny_q2_splits3", 2, emulated() ? 400 : 30000, 4, 2, 32, true, 3}, 19);
  run_cross({"fp8_7b_one_split", 1, emulated() ? 1000 : 8000, 28, 4, 128, true, 1}, 20);
}

TEST(SeqCrossDecode, RejectsWhatItIsNotBuiltFor) {
  alignas(16) static bf16 buf[64];
  kernels::CrossDecodeParams p;
  EXPECT_NE(kernels::cross_decode_can_implement(p), nullptr);  // null pointers
  p.q = p.k = p.v = buf;
  p.o = buf;
  p.num_heads = 28;
  p.num_kv_heads = 4;
  p.head_dim = 128;
  p.q_len = 1;
  p.kv_len = 10;
  p.scale = 0.1f;
  EXPECT_EQ(kernels::cross_decode_can_implement(p), nullptr);
  p.head_dim = 80;
  EXPECT_NE(kernels::cross_decode_can_implement(p), nullptr);  // no instantiation
  p.head_dim = 128;
  p.q_len = 19;  // 133 rows
  EXPECT_NE(kernels::cross_decode_can_implement(p), nullptr);
  p.q_len = 1;
  p.k_token_stride = 4;  // not 16 bytes
  EXPECT_NE(kernels::cross_decode_can_implement(p), nullptr);
  p.k_token_stride = 0;
  p.kv_type = CrossDecodeKv::kFp8E4M3;  // scales missing
  EXPECT_NE(kernels::cross_decode_can_implement(p), nullptr);
  p.kv_type = CrossDecodeKv::kBf16;
  p.num_heads = 30;  // not a multiple of the kv heads
  EXPECT_NE(kernels::cross_decode_can_implement(p), nullptr);
}

}  // namespace
}  // namespace vamba::seqtest
