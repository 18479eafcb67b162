// The streaming decode GEMV (kernels/gemm/gemv.h) against kernels/reference/linear.h: m = 1..8
// rows of x against 7B weights (gate/up, down, o_proj with bias, the vocab-wide lm_head to f32),
// strided views, accumulation, and an odd n (the last warp's second feature missing).
#include <gtest/gtest.h>

#include "kernels/gemm/gemv.h"
#include "kernels/reference/linear.h"
#include "tests/kernels_cuda/dense_test_util.h"

namespace vamba::testing::dense {
namespace {

struct GemvCase {
  int64_t m, n, k;
  int64_t ldx = 0, ldw = 0, ldy = 0;
  bool bias = false;
  bool y_f32 = false;
  bool accumulate = false;
};

void run_gemv(const GemvCase& c, uint64_t seed) {
  const std::string what = "gemv m=" + std::to_string(c.m) + " n=" + std::to_string(c.n) +
                           " k=" + std::to_string(c.k) +
                           (c.ldx || c.ldw || c.ldy ? " strided" : "") + (c.bias ? " bias" : "") +
                           (c.y_f32 ? " f32" : "") + (c.accumulate ? " acc" : "");
  SCOPED_TRACE(what);
  const int64_t ldx = c.ldx ? c.ldx : c.k, ldw = c.ldw ? c.ldw : c.k, ldy = c.ldy ? c.ldy : c.n;
  const float s = 1.0f / std::sqrt(static_cast<float>(c.k));
  const Bf16Host x = random_bf16(static_cast<size_t>(c.m * ldx), seed);
  const Bf16Host w = random_bf16(static_cast<size_t>(c.n * ldw), seed + 1, s);
  const Bf16Host b = random_bf16(static_cast<size_t>(c.n), seed + 2);
  const Bf16Host y0 = random_bf16(static_cast<size_t>(c.m * ldy), seed + 3);
  DeviceBuffer dx = upload(x.bits), dw = upload(w.bits), db = upload(b.bits);
  DeviceBuffer dy(static_cast<size_t>(c.m * ldy) * (c.y_f32 ? 4 : 2));
  ASSERT_TRUE(dx.ok() && dw.ok() && db.ok() && dy.ok());
  if (c.accumulate) {
    if (c.y_f32) {
      DENSE_CUDA_OK(cudaMemcpy(dy.get(), y0.values.data(), dy.bytes(), cudaMemcpyHostToDevice));
    } else {
      DENSE_CUDA_OK(cudaMemcpy(dy.get(), y0.bits.data(), dy.bytes(), cudaMemcpyHostToDevice));
    }
  } else {
    DENSE_CUDA_OK(poison(dy.get(), dy.bytes()));
  }
  kernels::GemmParams p;
  p.x = dx.get();
  p.w = dw.get();
  p.bias = c.bias ? db.get() : nullptr;
  p.y = dy.get();
  p.m = c.m;
  p.n = c.n;
  p.k = c.k;
  p.ldx = c.ldx;
  p.ldw = c.ldw;
  p.ldy = c.ldy;
  p.y_f32 = c.y_f32;
  p.accumulate = c.accumulate;
  ASSERT_EQ(kernels::gemv_can_implement(p), nullptr);
  DENSE_CUDA_OK(kernels::gemv(p, nullptr));
  DENSE_CUDA_OK(cudaDeviceSynchronize());

  const std::vector<float> xin = gather_rows(x.values, c.m, c.k, ldx);
  const std::vector<float> win = gather_rows(w.values, c.n, c.k, ldw);
  std::vector<float> ref(static_cast<size_t>(c.m * c.n));
  kernels::reference::linear(xin.data(), win.data(), c.bias ? b.values.data() : nullptr, ref.data(),
                             c.m, c.n, c.k);
  if (c.accumulate) {
    const std::vector<float> add = gather_rows(y0.values, c.m, c.n, ldy);
    for (size_t i = 0; i < ref.size(); ++i) ref[i] += add[i];
  }
  std::vector<float> out;
  if (c.y_f32) {
    out = gather_rows(download_f32(dy.get(), static_cast<size_t>(c.m * ldy)), c.m, c.n, ldy);
  } else {
    const auto bits = download_bf16(dy.get(), static_cast<size_t>(c.m * ldy));
    out = bf16_bits_to_float(gather_rows(bits, c.m, c.n, ldy));
    if (!c.accumulate) {
      EXPECT_TRUE(padding_untouched(bits, c.m, c.n, ldy));
    }
  }
  const double err = rel_l2(out, ref);
  report_parity(what, err);
  EXPECT_LT(err, c.y_f32 ? kF32OutTol : kBf16OutTol);
}

TEST(DenseGemv, DecodeShapesMatchReference) {
  VAMBA_SKIP_WITHOUT_GPU();
  // The CPU emulation keeps the widths that decide the indexing but shortens the long extents.
  const int64_t big = kEmulated ? 1000 : 18944, hidden = 3584, vocab = kEmulated ? 2000 : 152064;
  uint64_t seed = 5000;
  for (const int64_t m : {int64_t{1}, int64_t{2}, int64_t{3}, int64_t{5}, int64_t{8}}) {
    run_gemv({m, big, hidden}, seed += 10);                          // gate / up
    run_gemv({m, hidden, big}, seed += 10);                          // down
    run_gemv({m, hidden, hidden, 0, 0, 0, true}, seed += 10);        // q_proj with bias
    run_gemv({m, vocab, hidden, 0, 0, 0, false, true}, seed += 10);  // lm_head to f32
  }
}

TEST(DenseGemv, StridedOddAndAccumulatingShapesMatchReference) {
  VAMBA_SKIP_WITHOUT_GPU();
  const GemvCase cases[] = {
      {1, 33, 128},                                 // n odd: the last warp has one feature
      {4, 3585, 256, 264, 272, 3600, true},         // strided views, bias, odd n
      {8, 129, 3584, 0, 0, 0, false, false, true},  // residual fused: y += x · Wᵀ
      {3, 77, 8, 0, 0, 0, false, true, true},       // one vector per row, f32 accumulate
      {2, 256, 18944, 18952, 0, 300, true},         // x as a view into a wider buffer
  };
  uint64_t seed = 6000;
  for (const GemvCase& c : cases) run_gemv(c, seed += 10);
}

TEST(DenseGemv, StatesItsLimits) {
  kernels::GemmParams p;
  int dummy[8] = {};
  alignas(16) static uint16_t buf[64];
  p.x = p.w = buf;
  p.y = dummy;
  p.m = 1;
  p.n = 4;
  p.k = 16;
  EXPECT_EQ(kernels::gemv_can_implement(p), nullptr);
  p.m = 9;  // more rows than the kernel keeps sums for
  EXPECT_NE(kernels::gemv_can_implement(p), nullptr);
  p.m = 1;
  p.k = 12;  // not a whole 16-byte vector
  EXPECT_NE(kernels::gemv_can_implement(p), nullptr);
  p.k = 16;
  p.x = buf + 1;  // misaligned
  EXPECT_NE(kernels::gemv_can_implement(p), nullptr);
}

}  // namespace
}  // namespace vamba::testing::dense
