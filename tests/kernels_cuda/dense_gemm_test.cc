// The cuBLASLt linear layer (kernels/gemm) against kernels/reference/linear.h: 7B shapes (decode
// GEMVs, the Mamba in_proj width, the vocab-wide lm_head), odd and strided shapes, bias, fp32
// output, accumulation, and a product whose rows pass 2^31 elements (split into pieces).
#include <gtest/gtest.h>

#include <algorithm>

#include "kernels/gemm/gemm.h"
#include "kernels/reference/linear.h"
#include "tests/kernels_cuda/dense_test_util.h"

namespace vamba::testing::dense {
namespace {

struct GemmCase {
  int64_t m, n, k;
  int64_t ldx = 0, ldw = 0, ldy = 0;  // 0 = dense
  bool bias = false;
  bool y_f32 = false;
  bool accumulate = false;
};

std::string name(const GemmCase& c) {
  return "m=" + std::to_string(c.m) + " n=" + std::to_string(c.n) + " k=" + std::to_string(c.k) +
         " ld=" + std::to_string(c.ldx) + "/" + std::to_string(c.ldw) + "/" +
         std::to_string(c.ldy) + (c.bias ? " bias" : "") + (c.y_f32 ? " f32" : "") +
         (c.accumulate ? " acc" : "");
}

void run_case(const GemmCase& c, uint64_t seed) {
  SCOPED_TRACE(name(c));
  const int64_t ldx = c.ldx ? c.ldx : c.k, ldw = c.ldw ? c.ldw : c.k, ldy = c.ldy ? c.ldy : c.n;
  // Scale 1/sqrt(k) keeps outputs O(1) whatever k is.
  const float s = 1.0f / std::sqrt(static_cast<float>(c.k));
  const Bf16Host x = random_bf16(static_cast<size_t>(c.m * ldx), seed);
  const Bf16Host w = random_bf16(static_cast<size_t>(c.n * ldw), seed + 1, s);
  const Bf16Host b = random_bf16(static_cast<size_t>(c.n), seed + 2);
  const Bf16Host y0 = random_bf16(static_cast<size_t>(c.m * ldy), seed + 3);
  DeviceBuffer dx = upload(x.bits), dw = upload(w.bits), db = upload(b.bits);
  const size_t y_elt = c.y_f32 ? 4 : 2;
  DeviceBuffer dy(static_cast<size_t>(c.m * ldy) * y_elt);
  ASSERT_TRUE(dx.ok() && dw.ok() && db.ok() && dy.ok());
  if (c.accumulate) {
    if (c.y_f32) {
      const std::vector<float>& v = y0.values;
      DENSE_CUDA_OK(cudaMemcpy(dy.get(), v.data(), v.size() * 4, cudaMemcpyHostToDevice));
    } else {
      DENSE_CUDA_OK(
          cudaMemcpy(dy.get(), y0.bits.data(), y0.bits.size() * 2, cudaMemcpyHostToDevice));
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
  ASSERT_EQ(kernels::can_implement(p), nullptr);
  const cudaError_t e = kernels::gemm(p, nullptr);
  ASSERT_EQ(e, cudaSuccess) << kernels::gemm_last_error();
  DENSE_CUDA_OK(cudaDeviceSynchronize());
  if (c.m == 0) return;

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
  EXPECT_LT(err, c.y_f32 ? kF32OutTol : kBf16OutTol);
  report_parity("gemm " + name(c), err);
}

TEST(DenseGemm, SevenBShapesMatchReference) {
  VAMBA_SKIP_WITHOUT_GPU();
  const GemmCase cases[] = {
      {1, 3584, 3584},                          // decode GEMV (q_proj / o_proj width)
      {8, 18944, 3584},                         // decode batch 8 through gate/up
      {3, 3584, 18944},                         // down_proj
      {300, 14704, 3584},                       // Mamba in_proj
      {129, 3584, 7168},                        // Mamba out_proj
      {37, 3584, 3584, 0, 0, 0, true},          // q_proj with bias
      {2, 152064, 3584, 0, 0, 0, false, true},  // lm_head to f32 logits
      {2, 152064, 3584},                        // lm_head to bf16 logits
      {1024, 1280, 1176, 0, 0, 0, true},        // vision patch embed
  };
  uint64_t seed = 1000;
  for (const GemmCase& c : cases) run_case(c, seed += 10);
}

TEST(DenseGemm, OddStridedAndEpilogueShapesMatchReference) {
  VAMBA_SKIP_WITHOUT_GPU();
  const GemmCase cases[] = {
      {129, 3583, 257},                            // odd n and k: 2-byte alignment
      {17, 33, 65, 70, 66, 40, true},              // strided views with bias
      {5, 17, 31, 0, 0, 0, false, true, true},     // f32 output, accumulate
      {64, 256, 128, 0, 0, 0, true, false, true},  // bias + accumulate (residual fused)
      {1, 1, 1},                                   // smallest
      {0, 64, 64},                                 // nothing to do
      {1000, 8, 4096},                             // narrow output, long k
      {3, 128, 128, 136, 128, 256},                // q from a fused qkv row
  };
  uint64_t seed = 2000;
  for (const GemmCase& c : cases) run_case(c, seed += 10);
}

TEST(DenseGemm, RepeatedCallsReuseCachedPlans) {
  VAMBA_SKIP_WITHOUT_GPU();
  // The second and third call take the cached plan; results must not change (fresh inputs each).
  for (int i = 0; i < 3; ++i) run_case({77, 3584, 3584, 0, 0, 0, true}, 3000 + i * 10);
}

TEST(DenseGemm, RowsPastTwoToThe31ElementsSplitIntoPieces) {
  VAMBA_SKIP_WITHOUT_GPU();
  // y = (m, 64) with m · 64 > 2^31: gemm() must split the rows. x repeats a random block of P rows
  // (filled by device copies, so the 4.3 GB input needs no host generation); row r of y is checked
  // against the reference for row r mod P at the start, around the piece boundary, around the 2^31
  // element mark, at the end and at random rows.
  const int64_t n = 64, k = 64, P = 65536;
  const int64_t m = (int64_t{1} << 31) / n + 12345;
  size_t free_bytes = 0, total = 0;
  DENSE_CUDA_OK(cudaMemGetInfo(&free_bytes, &total));
  // The target GPUs (H100/H200) have far more: too little free memory is a failure, not a skip.
  ASSERT_GE(free_bytes, static_cast<size_t>(2 * m * n * 2) + (size_t{1} << 30))
      << "needs ~9 GB of free device memory";
  const Bf16Host xb = random_bf16(static_cast<size_t>(P * k), 4000);
  const Bf16Host w = random_bf16(static_cast<size_t>(n * k), 4001, 0.125f);
  const Bf16Host b = random_bf16(static_cast<size_t>(n), 4002);
  DeviceBuffer dx(static_cast<size_t>(m * k) * 2), dy(static_cast<size_t>(m * n) * 2);
  DeviceBuffer dw = upload(w.bits), db = upload(b.bits);
  ASSERT_TRUE(dx.ok() && dy.ok() && dw.ok() && db.ok());
  DENSE_CUDA_OK(cudaMemcpy(dx.get(), xb.bits.data(), xb.bits.size() * 2, cudaMemcpyHostToDevice));
  for (int64_t r = P; r < m; r += P) {
    const int64_t rows = std::min(P, m - r);
    DENSE_CUDA_OK(cudaMemcpy(dx.as<uint16_t>() + r * k, dx.get(), static_cast<size_t>(rows * k) * 2,
                             cudaMemcpyDeviceToDevice));
  }
  DENSE_CUDA_OK(poison(dy.get(), dy.bytes()));
  kernels::GemmParams p;
  p.x = dx.get();
  p.w = dw.get();
  p.bias = db.get();
  p.y = dy.get();
  p.m = m;
  p.n = n;
  p.k = k;
  ASSERT_EQ(kernels::can_implement(p), nullptr);
  ASSERT_EQ(kernels::gemm(p, nullptr), cudaSuccess) << kernels::gemm_last_error();
  DENSE_CUDA_OK(cudaDeviceSynchronize());

  std::vector<float> ref_block(static_cast<size_t>(P * n));
  kernels::reference::linear(xb.values.data(), w.values.data(), b.values.data(), ref_block.data(),
                             P, n, k);
  std::vector<int64_t> rows;
  const int64_t half = (m + 1) / 2, mark = (int64_t{1} << 31) / n;
  for (int64_t base : {int64_t{0}, half - 50, mark - 50, m - 100}) {
    for (int64_t i = 0; i < 100; ++i) rows.push_back(base + i);
  }
  std::mt19937_64 rng(4003);
  for (int i = 0; i < 1000; ++i) rows.push_back(static_cast<int64_t>(rng() % m));
  std::vector<float> got, want;
  std::vector<uint16_t> row_bits(static_cast<size_t>(n));
  for (int64_t r : rows) {
    DENSE_CUDA_OK(
        cudaMemcpy(row_bits.data(), dy.as<uint16_t>() + r * n, n * 2, cudaMemcpyDeviceToHost));
    for (int64_t j = 0; j < n; ++j) {
      got.push_back(bf16_to_float(bf16{row_bits[j]}));
      want.push_back(ref_block[(r % P) * n + j]);
    }
  }
  EXPECT_LT(rel_l2(got, want), kBf16OutTol);
}

TEST(DenseGemm, GemvImplThroughGemm) {
  VAMBA_SKIP_WITHOUT_GPU();
  // gemm() with impl = kGemv runs kernels/gemm/gemv.h (tested in depth in dense_gemv_test.cc) and
  // refuses shapes that kernel cannot take instead of silently falling back.
  const Bf16Host x = random_bf16(4 * 3584, 7000), w = random_bf16(3584 * 3584, 7001, 0.0167f);
  DeviceBuffer dx = upload(x.bits), dw = upload(w.bits), dy(4 * 3584 * 2);
  ASSERT_TRUE(dx.ok() && dw.ok() && dy.ok());
  DENSE_CUDA_OK(poison(dy.get(), dy.bytes()));
  kernels::GemmParams p;
  p.x = dx.get();
  p.w = dw.get();
  p.y = dy.get();
  p.m = 4;
  p.n = 3584;
  p.k = 3584;
  p.impl = kernels::GemmImpl::kGemv;
  ASSERT_EQ(kernels::gemm(p, nullptr), cudaSuccess) << kernels::gemm_last_error();
  DENSE_CUDA_OK(cudaDeviceSynchronize());
  std::vector<float> ref(4 * 3584);
  kernels::reference::linear(x.values.data(), w.values.data(), nullptr, ref.data(), 4, 3584, 3584);
  EXPECT_LT(rel_l2(download_bf16_as_float(dy.get(), ref.size()), ref), kBf16OutTol);
  p.k = 3583;  // not a multiple of 8: gemv cannot, and says so
  p.ldx = p.ldw = 3584;
  EXPECT_EQ(kernels::gemm(p, nullptr), cudaErrorNotSupported);
  EXPECT_FALSE(kernels::gemm_last_error().empty());
}

TEST(DenseGemm, RejectsWhatItCannotRun) {
  kernels::GemmParams p;
  EXPECT_EQ(kernels::can_implement(p), nullptr);  // m = 0: nothing to do, null pointers are fine
  EXPECT_EQ(kernels::gemm(p, nullptr), cudaSuccess);
  p.m = 1;
  EXPECT_NE(kernels::can_implement(p), nullptr);
  int dummy = 0;
  p.x = p.w = &dummy;
  p.y = &dummy;
  p.m = 4;
  p.n = 8;
  p.k = 16;
  EXPECT_EQ(kernels::can_implement(p), nullptr);
  p.ldx = 8;  // shorter than k
  EXPECT_NE(kernels::can_implement(p), nullptr);
  p.ldx = 0;
  p.bias = &dummy;
  p.y_f32 = true;  // cuBLASLt's bias type is the output type
  EXPECT_NE(kernels::can_implement(p), nullptr);
  EXPECT_EQ(kernels::gemm(p, nullptr), cudaErrorInvalidValue);
  EXPECT_FALSE(kernels::gemm_last_error().empty());
}

}  // namespace
}  // namespace vamba::testing::dense
