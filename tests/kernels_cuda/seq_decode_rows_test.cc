// The few-row decode attention (kernels/attention/decode_rows.h) against the CPU reference: one
// query per sequence over its own keys, batches of sequences of different lengths, key splits with
// their combine, the fused append of the step's own key/value (the cache row is written and used),
// and the group sizes of the tiny (2 heads per KV head) and 7B (7) models. Cache rows past each
// sequence's length hold NaN, and outputs are poisoned, so a stray read or a missed write fails.
// Tolerance: fp32 softmax and accumulation, one bf16 rounding of the output ⇒ ≈ 1.5e-3 relative
// L2 (see seq_attention_test.cc); 3e-3.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "kernels/attention/decode_rows.h"
#include "kernels/reference/attention.h"
#include "tests/kernels_cuda/seq_test_util.h"

namespace vamba::seqtest {
namespace {

struct RowsCase {
  std::string name;
  std::vector<int64_t> lens;  // keys of each sequence (with the new one, when append)
  int hq = 0, hkv = 0, d = 0;
  bool append = false;
  int num_splits = 0;  // 0: planned
};

void run_rows(const RowsCase& c, uint32_t seed) {
  SCOPED_TRACE(c.name);
  SEQ_REQUIRE_DEVICE();
  std::mt19937 rng(seed);
  const int batch = static_cast<int>(c.lens.size());
  const int64_t row = int64_t{c.hkv} * c.d;
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.d));
  const std::vector<float> q = random_bf16_values(size_t(batch) * c.hq * c.d, rng);
  const std::vector<float> new_k = random_bf16_values(size_t(batch) * row, rng);
  const std::vector<float> new_v = random_bf16_values(size_t(batch) * row, rng);

  kernels::DecodeRowsParams p;
  std::vector<DevBuf<bf16>> ks, vs;
  std::vector<std::vector<float>> host_k, host_v;
  std::vector<float> ref(q.size());
  for (int b = 0; b < batch; ++b) {
    const int64_t len = c.lens[b], cap = len + 3;
    std::vector<float> k = random_bf16_values(size_t(len) * row, rng);
    std::vector<float> v = random_bf16_values(size_t(len) * row, rng);
    // With append, the cache's last valid row is what the kernel must store; it starts as NaN.
    std::vector<bf16> kd(cap * row, bf16{0xffff}), vd(cap * row, bf16{0xffff});
    const int64_t given = c.append ? len - 1 : len;
    for (int64_t i = 0; i < given * row; ++i) {
      kd[i] = to_bf16({k[i]})[0];
      vd[i] = to_bf16({v[i]})[0];
    }
    if (c.append) {
      std::copy(new_k.begin() + b * row, new_k.begin() + (b + 1) * row, k.end() - row);
      std::copy(new_v.begin() + b * row, new_v.begin() + (b + 1) * row, v.end() - row);
    }
    kernels::reference::AttentionParams rp;
    rp.n_q = 1;
    rp.n_k = len;
    rp.num_heads = c.hq;
    rp.num_kv_heads = c.hkv;
    rp.head_dim = c.d;
    rp.scale = scale;
    kernels::reference::attention(q.data() + size_t(b) * c.hq * c.d, k.data(), v.data(),
                                  ref.data() + size_t(b) * c.hq * c.d, rp);
    ks.emplace_back(kd);
    vs.emplace_back(vd);
    host_k.push_back(std::move(k));
    host_v.push_back(std::move(v));
    p.k[b] = ks.back().get();
    p.v[b] = vs.back().get();
    p.kv_len[b] = len;
  }
  DevBuf<bf16> dq(to_bf16(q)), dnk(to_bf16(new_k)), dnv(to_bf16(new_v)), dout(q.size());
  dout.poison();
  p.q = dq.get();
  p.o = dout.get();
  p.new_k = c.append ? dnk.get() : nullptr;
  p.new_v = c.append ? dnv.get() : nullptr;
  p.batch = batch;
  p.num_heads = c.hq;
  p.num_kv_heads = c.hkv;
  p.head_dim = c.d;
  p.scale = scale;
  p.num_splits = c.num_splits;
  const char* why = kernels::decode_rows_can_implement(p);
  ASSERT_EQ(why, nullptr) << why;
  const kernels::DecodeRowsPlan plan = kernels::decode_rows_plan(p);
  p.num_splits = plan.num_splits;
  DevBuf<unsigned char> ws(plan.workspace_bytes);
  ws.poison();
  p.workspace = ws.get();
  p.workspace_bytes = plan.workspace_bytes;
  SEQ_EXPECT_LAUNCH(kernels::decode_rows_attention(p, nullptr));

  const double err = testing::rel_l2(to_float(dout.download()), ref);
  std::printf("seq-parity decode_rows %s splits=%d rel_l2=%.3e\n", c.name.c_str(), plan.num_splits,
              err);
  EXPECT_LT(err, 3e-3);
  if (c.append) {  // the new rows landed in the caches, bit for bit
    for (int b = 0; b < batch; ++b) {
      const std::vector<float> kd = to_float(ks[b].download());
      const std::vector<float> vd = to_float(vs[b].download());
      const int64_t at = (c.lens[b] - 1) * row;
      for (int64_t i = 0; i < row; ++i) {
        ASSERT_EQ(kd[at + i], new_k[b * row + i]) << "sequence " << b << " element " << i;
        ASSERT_EQ(vd[at + i], new_v[b * row + i]) << "sequence " << b << " element " << i;
      }
    }
  }
}

TEST(SeqDecodeRows, CrossAttentionOneQueryManyKeys) {
  const int64_t n = emulated() ? 1500 : 131072;
  run_rows({"7b_group7", {n}, 28, 4, 128}, 11);
  run_rows({"tiny_group2", {emulated() ? 700 : 100000}, 4, 2, 32}, 12);
}

TEST(SeqDecodeRows, BatchOfSequencesWithTheirOwnLengths) {
  run_rows({"batch5", {1, 17, 64, 300, 5}, 28, 4, 128}, 21);
  run_rows({"batch16_d64", {3, 9, 40, 2, 77, 1, 12, 8, 100, 31, 6, 50, 4, 19, 25, 60}, 8, 8, 64},
           22);
}

TEST(SeqDecodeRows, FusedAppendStoresAndUsesTheNewRow) {
  run_rows({"append_batch3", {1, 33, 257}, 28, 4, 128, true}, 31);
  run_rows({"append_tiny", {6, 2}, 4, 2, 32, true}, 32);
  run_rows({"append_split", {emulated() ? 900 : 20000}, 28, 4, 128, true, 7}, 33);
}

TEST(SeqDecodeRows, ForcedSplitsLeaveShortSequencesWithEmptySplits) {
  run_rows({"splits_uneven", {2000, 3, 700}, 4, 2, 32, false, 9}, 41);
}

TEST(SeqDecodeRows, RejectsWhatItIsNotBuiltFor) {
  kernels::DecodeRowsParams p;
  int dummy[4] = {};
  p.q = p.o = dummy;
  p.k[0] = p.v[0] = dummy;
  p.kv_len[0] = 4;
  p.batch = 1;
  p.num_heads = 28;
  p.num_kv_heads = 4;
  p.head_dim = 80;
  p.scale = 0.1f;
  EXPECT_NE(kernels::decode_rows_can_implement(p), nullptr);  // head_dim 80
  p.head_dim = 128;
  EXPECT_EQ(kernels::decode_rows_can_implement(p), nullptr);
  p.num_heads = 40;
  EXPECT_NE(kernels::decode_rows_can_implement(p), nullptr);  // 10 heads per kv head
  p.num_heads = 28;
  p.kv_len[0] = 0;
  EXPECT_NE(kernels::decode_rows_can_implement(p), nullptr);  // no keys
  p.kv_len[0] = 4;
  p.batch = kernels::kDecodeRowsMaxBatch + 1;
  EXPECT_NE(kernels::decode_rows_can_implement(p), nullptr);
}

}  // namespace
}  // namespace vamba::seqtest
