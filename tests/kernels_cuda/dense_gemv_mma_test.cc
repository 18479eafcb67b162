// The tensor-core decode GEMV (kernels/gemm/gemv_mma.h) against kernels/reference/linear.h and
// activation.h: m = 1..16 rows of x against 7B weights (gate/up, down, q with bias, the lm_head to
// f32), every k-split width, k not a multiple of the 32-wide chunk, odd n, strided views,
// accumulation, the fused SwiGLU and the three-segment (q, k, v) output. Outputs start poisoned.
#include <gtest/gtest.h>

#include <algorithm>

#include "kernels/gemm/gemv_mma.h"
#include "kernels/reference/activation.h"
#include "kernels/reference/linear.h"
#include "tests/kernels_cuda/dense_test_util.h"

namespace vamba::testing::dense {
namespace {

struct MmaCase {
  int64_t m, n, k;
  int64_t ldx = 0, ldw = 0, ldy = 0;
  bool bias = false;
  bool y_f32 = false;
  bool accumulate = false;
  bool swiglu = false;
  bool pair = false;                   // residual blend: y += 0.3 · x·Wᵀ + 0.7 · x2·W2ᵀ
  std::vector<int64_t> segments = {};  // rows per output segment; empty = one output
  int warps = 0;
};

std::string describe(const MmaCase& c) {
  std::string s = "gemv_mma m=" + std::to_string(c.m) + " n=" + std::to_string(c.n) +
                  " k=" + std::to_string(c.k);
  if (c.ldx || c.ldw || c.ldy) s += " strided";
  if (c.bias) s += " bias";
  if (c.y_f32) s += " f32";
  if (c.accumulate) s += " acc";
  if (c.swiglu) s += " swiglu";
  if (c.pair) s += " pair_blend";
  if (!c.segments.empty()) s += " segments=" + std::to_string(c.segments.size());
  if (c.warps) s += " warps=" + std::to_string(c.warps);
  return s;
}

void run_case(const MmaCase& c, uint64_t seed) {
  const std::string what = describe(c);
  SCOPED_TRACE(what);
  const std::vector<int64_t> segs = c.segments.empty() ? std::vector<int64_t>{c.n} : c.segments;
  const int64_t ldx = c.ldx ? c.ldx : c.k, ldw = c.ldw ? c.ldw : c.k;
  const float s = 1.0f / std::sqrt(static_cast<float>(c.k));
  const Bf16Host x = random_bf16(static_cast<size_t>(c.m * ldx), seed);
  const Bf16Host w = random_bf16(static_cast<size_t>(c.n * ldw), seed + 1, s);
  const Bf16Host wu = random_bf16(static_cast<size_t>(c.n * ldw), seed + 2, s);
  const Bf16Host b = random_bf16(static_cast<size_t>(c.n), seed + 3);
  const Bf16Host x2 = random_bf16(static_cast<size_t>(c.m * ldx), seed + 5);
  DeviceBuffer dx = upload(x.bits), dw = upload(w.bits), dwu = upload(wu.bits), db = upload(b.bits);
  DeviceBuffer dx2 = upload(x2.bits);
  ASSERT_TRUE(dx.ok() && dw.ok() && dwu.ok() && db.ok() && dx2.ok());
  const bool accumulate = c.accumulate || c.pair;  // the blend adds to the residual in y

  kernels::GemvMmaParams p;
  p.x = dx.get();
  p.w = dw.get();
  p.w_up = c.swiglu ? dwu.get() : nullptr;
  p.bias = c.bias ? db.get() : nullptr;
  p.m = c.m;
  p.n = c.n;
  p.k = c.k;
  p.ldx = c.ldx;
  p.ldw = c.ldw;
  p.y_f32 = c.y_f32;
  p.accumulate = c.accumulate;
  p.warps = c.warps;
  if (c.pair) {
    p.pair_blend = true;
    p.x2 = dx2.get();
    p.ldx2 = c.ldx;
    p.w2 = dwu.get();
    p.alpha = 0.3f;
    p.alpha2 = 0.7f;
  }
  p.num_outputs = static_cast<int>(segs.size());
  const size_t elt = c.y_f32 ? 4 : 2;
  std::vector<DeviceBuffer> dys;
  std::vector<int64_t> ldys;
  const Bf16Host y0 = random_bf16(static_cast<size_t>(c.m * (c.ldy ? c.ldy : c.n)), seed + 4);
  for (size_t i = 0; i < segs.size(); ++i) {
    const int64_t ldy = c.ldy ? c.ldy : segs[i];
    ldys.push_back(ldy);
    dys.emplace_back(static_cast<size_t>(c.m * ldy) * elt);
    ASSERT_TRUE(dys.back().ok());
    if (accumulate) {
      const void* src = c.y_f32 ? static_cast<const void*>(y0.values.data())
                                : static_cast<const void*>(y0.bits.data());
      DENSE_CUDA_OK(cudaMemcpy(dys.back().get(), src, dys.back().bytes(), cudaMemcpyHostToDevice));
    } else {
      DENSE_CUDA_OK(poison(dys.back().get(), dys.back().bytes()));
    }
    p.out[i].y = dys.back().get();
    p.out[i].rows = segs[i];
    p.out[i].ldy = c.ldy;
  }
  ASSERT_EQ(kernels::gemv_mma_can_implement(p), nullptr);
  DENSE_CUDA_OK(kernels::gemv_mma(p, nullptr));
  DENSE_CUDA_OK(cudaDeviceSynchronize());

  // Reference: (m, n) in f32, then SwiGLU, bias or accumulation.
  const std::vector<float> xin = gather_rows(x.values, c.m, c.k, ldx);
  std::vector<float> ref(static_cast<size_t>(c.m * c.n));
  kernels::reference::linear(xin.data(), gather_rows(w.values, c.n, c.k, ldw).data(),
                             c.bias ? b.values.data() : nullptr, ref.data(), c.m, c.n, c.k);
  if (c.pair) {
    std::vector<float> second(ref.size());
    kernels::reference::linear(gather_rows(x2.values, c.m, c.k, ldx).data(),
                               gather_rows(wu.values, c.n, c.k, ldw).data(), nullptr, second.data(),
                               c.m, c.n, c.k);
    for (size_t i = 0; i < ref.size(); ++i) ref[i] = 0.3f * ref[i] + 0.7f * second[i];
  }
  if (c.swiglu) {
    std::vector<float> up(ref.size());
    kernels::reference::linear(xin.data(), gather_rows(wu.values, c.n, c.k, ldw).data(), nullptr,
                               up.data(), c.m, c.n, c.k);
    kernels::reference::silu_mul(ref.data(), up.data(), ref.data(),
                                 static_cast<int64_t>(ref.size()));
  }
  if (accumulate) {
    const std::vector<float> add = gather_rows(y0.values, c.m, c.n, c.ldy ? c.ldy : c.n);
    for (size_t i = 0; i < ref.size(); ++i) ref[i] += add[i];
  }
  // The kernel's output, reassembled from its segments into (m, n).
  std::vector<float> out(ref.size());
  int64_t col0 = 0;
  for (size_t i = 0; i < segs.size(); ++i) {
    std::vector<float> part;
    if (c.y_f32) {
      part = gather_rows(download_f32(dys[i].get(), static_cast<size_t>(c.m * ldys[i])), c.m,
                         segs[i], ldys[i]);
    } else {
      const auto bits = download_bf16(dys[i].get(), static_cast<size_t>(c.m * ldys[i]));
      part = bf16_bits_to_float(gather_rows(bits, c.m, segs[i], ldys[i]));
      if (!accumulate) {
        EXPECT_TRUE(padding_untouched(bits, c.m, segs[i], ldys[i]));
      }
    }
    for (int64_t r = 0; r < c.m; ++r) {
      std::copy(part.begin() + r * segs[i], part.begin() + (r + 1) * segs[i],
                out.begin() + r * c.n + col0);
    }
    col0 += segs[i];
  }
  const double err = rel_l2(out, ref);
  report_parity(what, err);
  EXPECT_LT(err, c.y_f32 ? kF32OutTol : kBf16OutTol);
}

TEST(DenseGemvMma, DecodeShapesMatchReference) {
  VAMBA_SKIP_WITHOUT_GPU();
  // The CPU emulation keeps the widths that decide the indexing but shortens the long extents.
  const int64_t big = kEmulated ? 1000 : 18944, hidden = kEmulated ? 896 : 3584;
  const int64_t vocab = kEmulated ? 2000 : 152064;
  const std::vector<int64_t> ms =
      kEmulated ? std::vector<int64_t>{1, 8, 9, 16} : std::vector<int64_t>{1, 2, 3, 5, 8, 9, 16};
  uint64_t seed = 7000;
  for (const int64_t m : ms) {
    run_case({m, big, hidden}, seed += 10);                          // gate / up
    run_case({m, hidden, big}, seed += 10);                          // down
    run_case({m, hidden, hidden, 0, 0, 0, true}, seed += 10);        // q_proj with bias
    run_case({m, vocab, hidden, 0, 0, 0, false, true}, seed += 10);  // lm_head to f32
  }
}

TEST(DenseGemvMma, FusedSwiGluAndSegmentsMatchReference) {
  VAMBA_SKIP_WITHOUT_GPU();
  const int64_t big = kEmulated ? 1000 : 18944, hidden = kEmulated ? 896 : 3584;
  const int64_t q = kEmulated ? 896 : 3584, kv = kEmulated ? 128 : 512;
  uint64_t seed = 8000;
  for (const int64_t m : {int64_t{1}, int64_t{4}, int64_t{8}, int64_t{13}}) {
    MmaCase mlp{m, big, hidden};
    mlp.swiglu = true;
    run_case(mlp, seed += 10);
    MmaCase qkv{m, q + 2 * kv, hidden, 0, 0, 0, true};
    qkv.segments = {q, kv, kv};
    run_case(qkv, seed += 10);
    MmaCase blend{m, hidden, hidden};  // the two attention output projections into the residual
    blend.pair = true;
    run_case(blend, seed += 10);
  }
}

TEST(DenseGemvMma, EveryWarpSplitOddAndStridedShapesMatchReference) {
  VAMBA_SKIP_WITHOUT_GPU();
  uint64_t seed = 9000;
  for (const int warps : {4, 8, 16}) {
    MmaCase c{3, 517, 1000};  // 31.25 chunks of 32: a partial last chunk; n not a multiple of 16
    c.warps = warps;
    run_case(c, seed += 10);
    MmaCase tiny{16, 33, 8};  // one 8-wide piece of k: most warps have no chunk at all
    tiny.warps = warps;
    run_case(tiny, seed += 10);
  }
  const MmaCase cases[] = {
      {4, 3585, 256, 264, 272, 3600, true},         // strided views, bias, odd n
      {8, 129, 3584, 0, 0, 0, false, false, true},  // residual fused: y += x · Wᵀ
      {11, 77, 8, 0, 0, 0, false, true, true},      // one 8-wide piece, f32 accumulate
      {2, 256, 1896, 1904, 0, 300, true},           // x as a view into a wider buffer
  };
  for (const MmaCase& c : cases) run_case(c, seed += 10);
  MmaCase pair_strided{5, 300, 264, 272, 280, 0};  // the blend with strided inputs and weights
  pair_strided.pair = true;
  run_case(pair_strided, seed += 10);
  MmaCase seg{6, 96 + 40 + 24, 64, 72, 0, 0, true};  // segments with a strided x
  seg.segments = {96, 40, 24};
  run_case(seg, seed += 10);
}

TEST(DenseGemvMma, StatesItsLimits) {
  kernels::GemvMmaParams p;
  alignas(16) static uint16_t buf[64];
  int dummy[8] = {};
  p.x = p.w = buf;
  p.out[0].y = dummy;
  p.out[0].rows = 4;
  p.m = 1;
  p.n = 4;
  p.k = 16;
  EXPECT_EQ(kernels::gemv_mma_can_implement(p), nullptr);
  p.m = 17;  // more rows than two n8 tiles
  EXPECT_NE(kernels::gemv_mma_can_implement(p), nullptr);
  p.m = 1;
  p.k = 12;  // not a whole 16-byte piece
  EXPECT_NE(kernels::gemv_mma_can_implement(p), nullptr);
  p.k = 16;
  p.out[0].rows = 3;  // segments short of n
  EXPECT_NE(kernels::gemv_mma_can_implement(p), nullptr);
  p.out[0].rows = 4;
  p.w_up = buf;
  p.bias = buf;  // SwiGLU takes no bias
  EXPECT_NE(kernels::gemv_mma_can_implement(p), nullptr);
  p.bias = nullptr;
  EXPECT_EQ(kernels::gemv_mma_can_implement(p), nullptr);
  p.x = buf + 1;  // misaligned
  EXPECT_NE(kernels::gemv_mma_can_implement(p), nullptr);
}

}  // namespace
}  // namespace vamba::testing::dense
