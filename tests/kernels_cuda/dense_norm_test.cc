// RMSNorm, add + RMSNorm, LayerNorm and Mamba-2's gated RMSNorm (kernels/norm) against
// kernels/reference/norm.h.
#include <gtest/gtest.h>

#include "kernels/norm/norm.h"
#include "kernels/reference/norm.h"
#include "tests/kernels_cuda/dense_test_util.h"

namespace vamba::testing::dense {
namespace {

struct NormCase {
  int64_t rows, dim, ldx, ldy;  // strides in elements (≥ dim)
};

// 7B widths (3584 hidden, 18944 and 152064 past the register-cached limit), the tiny checkpoint's
// 128, odd widths (scalar fallback), and row strides that break 16-byte alignment.
const NormCase kCases[] = {
    {1, 3584, 3584, 3584},       {7, 3584, 3584, 3584},  {33, 128, 128, 128},
    {3, 3583, 3583, 3583},       {64, 1280, 1280, 1280}, {5, 18944, 18944, 18944},
    {2, 152064, 152064, 152064}, {9, 3584, 3600, 3592},  {6, 3584, 3585, 3587},
    {1000, 64, 64, 64},          {5, 1, 1, 1},           {4, 16384, 16384, 16384},
};

std::string name(const NormCase& c) {
  return std::to_string(c.rows) + "x" + std::to_string(c.dim) + " ldx=" + std::to_string(c.ldx) +
         " ldy=" + std::to_string(c.ldy);
}

TEST(DenseNorm, RmsNormMatchesReference) {
  VAMBA_SKIP_WITHOUT_GPU();
  uint64_t seed = 100;
  for (const NormCase& c : kCases) {
    SCOPED_TRACE(name(c));
    const Bf16Host x = random_bf16(static_cast<size_t>(c.rows * c.ldx), ++seed, 2.0f);
    const Bf16Host w = random_bf16(static_cast<size_t>(c.dim), ++seed, 0.3f, 1.0f);
    DeviceBuffer dx = upload(x.bits), dw = upload(w.bits);
    DeviceBuffer dy(static_cast<size_t>(c.rows * c.ldy) * 2);
    ASSERT_TRUE(dx.ok() && dw.ok() && dy.ok());
    DENSE_CUDA_OK(poison(dy.get(), dy.bytes()));
    kernels::RmsNormParams p;
    p.x = dx.get();
    p.w = dw.get();
    p.y = dy.get();
    p.rows = c.rows;
    p.dim = c.dim;
    p.ldx = c.ldx;
    p.ldy = c.ldy;
    p.eps = 1e-6f;
    ASSERT_EQ(kernels::can_implement(p), nullptr);
    DENSE_CUDA_OK(kernels::rms_norm(p, nullptr));
    DENSE_CUDA_OK(cudaDeviceSynchronize());

    const std::vector<float> xin = gather_rows(x.values, c.rows, c.dim, c.ldx);
    std::vector<float> ref(xin.size());
    kernels::reference::rms_norm(xin.data(), w.values.data(), ref.data(), c.rows, c.dim, 1e-6f);
    const std::vector<uint16_t> out = download_bf16(dy.get(), static_cast<size_t>(c.rows * c.ldy));
    const double err = rel_l2(bf16_bits_to_float(gather_rows(out, c.rows, c.dim, c.ldy)), ref);
    report_parity("rms_norm " + name(c), err);
    EXPECT_LT(err, kBf16OutTol);
    EXPECT_TRUE(padding_untouched(out, c.rows, c.dim, c.ldy));
  }
}

TEST(DenseNorm, AddRmsNormMatchesReference) {
  VAMBA_SKIP_WITHOUT_GPU();
  uint64_t seed = 200;
  for (const NormCase& c : kCases) {
    SCOPED_TRACE(name(c));
    const int64_t ldr = c.ldy;  // the residual shares y's stride here
    const Bf16Host x = random_bf16(static_cast<size_t>(c.rows * c.ldx), ++seed);
    const Bf16Host r = random_bf16(static_cast<size_t>(c.rows * ldr), ++seed, 3.0f);
    const Bf16Host w = random_bf16(static_cast<size_t>(c.dim), ++seed, 0.3f, 1.0f);
    DeviceBuffer dx = upload(x.bits), dr = upload(r.bits), dw = upload(w.bits);
    DeviceBuffer dy(static_cast<size_t>(c.rows * c.ldy) * 2);
    ASSERT_TRUE(dx.ok() && dr.ok() && dw.ok() && dy.ok());
    DENSE_CUDA_OK(poison(dy.get(), dy.bytes()));
    kernels::AddRmsNormParams p;
    p.residual = dr.get();
    p.x = dx.get();
    p.w = dw.get();
    p.y = dy.get();
    p.rows = c.rows;
    p.dim = c.dim;
    p.ldx = c.ldx;
    p.ldy = c.ldy;
    p.ldr = ldr;
    p.eps = 1e-6f;
    ASSERT_EQ(kernels::can_implement(p), nullptr);
    DENSE_CUDA_OK(kernels::add_rms_norm(p, nullptr));
    DENSE_CUDA_OK(cudaDeviceSynchronize());

    std::vector<float> res = gather_rows(r.values, c.rows, c.dim, ldr);
    const std::vector<float> xin = gather_rows(x.values, c.rows, c.dim, c.ldx);
    std::vector<float> ref(xin.size());
    kernels::reference::add_rms_norm(res.data(), xin.data(), w.values.data(), ref.data(), c.rows,
                                     c.dim, 1e-6f);
    const auto out_y = download_bf16(dy.get(), static_cast<size_t>(c.rows * c.ldy));
    const auto out_r = download_bf16(dr.get(), static_cast<size_t>(c.rows * ldr));
    // The residual is one rounding of the exact sum; y normalises that rounded residual.
    const double err_r = rel_l2(bf16_bits_to_float(gather_rows(out_r, c.rows, c.dim, ldr)), res);
    const double err_y = rel_l2(bf16_bits_to_float(gather_rows(out_y, c.rows, c.dim, c.ldy)), ref);
    report_parity("add_rms_norm residual " + name(c), err_r);
    report_parity("add_rms_norm y " + name(c), err_y);
    EXPECT_LT(err_r, kBf16OutTol);
    EXPECT_LT(err_y, kBf16TwiceTol);
    EXPECT_TRUE(padding_untouched(out_y, c.rows, c.dim, c.ldy));
    // The residual's padding keeps its input values.
    for (int64_t i = 0; i < c.rows; ++i) {
      for (int64_t j = c.dim; j < ldr; ++j) {
        ASSERT_EQ(out_r[i * ldr + j], r.bits[i * ldr + j]);
      }
    }
  }
}

TEST(DenseNorm, LayerNormMatchesReference) {
  VAMBA_SKIP_WITHOUT_GPU();
  uint64_t seed = 300;
  for (const bool with_bias : {true, false}) {
    for (const NormCase& c : kCases) {
      SCOPED_TRACE(name(c) + (with_bias ? " bias" : " no bias"));
      // A mean far from zero exercises the centring (x − mean) rather than E[x²] − mean².
      const Bf16Host x = random_bf16(static_cast<size_t>(c.rows * c.ldx), ++seed, 1.5f, 4.0f);
      const Bf16Host w = random_bf16(static_cast<size_t>(c.dim), ++seed, 0.3f, 1.0f);
      const Bf16Host b = random_bf16(static_cast<size_t>(c.dim), ++seed, 0.5f);
      DeviceBuffer dx = upload(x.bits), dw = upload(w.bits), db = upload(b.bits);
      DeviceBuffer dy(static_cast<size_t>(c.rows * c.ldy) * 2);
      ASSERT_TRUE(dx.ok() && dw.ok() && db.ok() && dy.ok());
      DENSE_CUDA_OK(poison(dy.get(), dy.bytes()));
      kernels::LayerNormParams p;
      p.x = dx.get();
      p.w = dw.get();
      p.b = with_bias ? db.get() : nullptr;
      p.y = dy.get();
      p.rows = c.rows;
      p.dim = c.dim;
      p.ldx = c.ldx;
      p.ldy = c.ldy;
      p.eps = 1e-6f;
      ASSERT_EQ(kernels::can_implement(p), nullptr);
      DENSE_CUDA_OK(kernels::layer_norm(p, nullptr));
      DENSE_CUDA_OK(cudaDeviceSynchronize());

      const std::vector<float> xin = gather_rows(x.values, c.rows, c.dim, c.ldx);
      std::vector<float> ref(xin.size());
      kernels::reference::layer_norm(xin.data(), w.values.data(),
                                     with_bias ? b.values.data() : nullptr, ref.data(), c.rows,
                                     c.dim, 1e-6f);
      const auto out = download_bf16(dy.get(), static_cast<size_t>(c.rows * c.ldy));
      if (c.dim == 1) {
        // A single element normalises to exactly 0: the output is w·0 + b, compared exactly.
        EXPECT_EQ(rel_l2(bf16_bits_to_float(gather_rows(out, c.rows, c.dim, c.ldy)), ref), 0.0);
      } else {
        const double err = rel_l2(bf16_bits_to_float(gather_rows(out, c.rows, c.dim, c.ldy)), ref);
        report_parity(std::string("layer_norm ") + (with_bias ? "bias " : "") + name(c), err);
        EXPECT_LT(err, kBf16OutTol);
      }
      EXPECT_TRUE(padding_untouched(out, c.rows, c.dim, c.ldy));
    }
  }
}

struct GatedCase {
  int64_t rows, d_inner, group, ldz;  // z read in place from a wider row (the in_proj output)
};

TEST(DenseNorm, GatedRmsNormMatchesReference) {
  VAMBA_SKIP_WITHOUT_GPU();
  // 7B: d_inner 7168, one group, z in the (L, 14704) in_proj output; the tiny checkpoint: 256;
  // several groups; an odd width.
  const GatedCase cases[] = {{37, 7168, 7168, 14704},
                             {5, 256, 256, 552},
                             {16, 7168, 896, 7168},
                             {3, 1000, 250, 1003},
                             {1, 7168, 7168, 14704}};
  uint64_t seed = 400;
  for (const GatedCase& c : cases) {
    for (const bool before : {false, true}) {
      for (const bool gated : {true, false}) {
        SCOPED_TRACE(std::to_string(c.rows) + "x" + std::to_string(c.d_inner) + " group " +
                     std::to_string(c.group) + (before ? " norm_before_gate" : " gate first") +
                     (gated ? "" : " no z"));
        const Bf16Host x = random_bf16(static_cast<size_t>(c.rows * c.d_inner), ++seed);
        const Bf16Host z = random_bf16(static_cast<size_t>(c.rows * c.ldz), ++seed, 2.0f);
        const Bf16Host w = random_bf16(static_cast<size_t>(c.d_inner), ++seed, 0.3f, 1.0f);
        DeviceBuffer dx = upload(x.bits), dz = upload(z.bits), dw = upload(w.bits);
        DeviceBuffer dy(static_cast<size_t>(c.rows * c.d_inner) * 2);
        ASSERT_TRUE(dx.ok() && dz.ok() && dw.ok() && dy.ok());
        DENSE_CUDA_OK(poison(dy.get(), dy.bytes()));
        kernels::GatedRmsNormParams p;
        p.x = dx.get();
        p.z = gated ? dz.get() : nullptr;
        p.ldz = c.ldz;
        p.w = dw.get();
        p.y = dy.get();
        p.rows = c.rows;
        p.dim = c.d_inner;
        p.group_size = c.group;
        p.norm_before_gate = before;
        p.eps = 1e-5f;
        ASSERT_EQ(kernels::can_implement(p), nullptr);
        DENSE_CUDA_OK(kernels::gated_rms_norm(p, nullptr));
        DENSE_CUDA_OK(cudaDeviceSynchronize());

        const std::vector<float> zin = gather_rows(z.values, c.rows, c.d_inner, c.ldz);
        std::vector<float> ref(static_cast<size_t>(c.rows * c.d_inner));
        kernels::reference::gated_rms_norm(x.values.data(), gated ? zin.data() : nullptr,
                                           w.values.data(), ref.data(), c.rows, c.d_inner, c.group,
                                           before, 1e-5f);
        const double err = rel_l2(download_bf16_as_float(dy.get(), ref.size()), ref);
        report_parity("gated_rms_norm " + std::to_string(c.rows) + "x" + std::to_string(c.d_inner) +
                          " g" + std::to_string(c.group) + (before ? " before" : "") +
                          (gated ? "" : " noz"),
                      err);
        EXPECT_LT(err, kBf16OutTol);
      }
    }
  }
}

TEST(DenseNorm, CanImplementStatesLimits) {
  kernels::RmsNormParams p;
  EXPECT_EQ(kernels::can_implement(p), nullptr);  // no rows: nothing to do, null pointers are fine
  EXPECT_EQ(kernels::rms_norm(p, nullptr), cudaSuccess);
  kernels::GatedRmsNormParams empty_gated;
  EXPECT_EQ(kernels::gated_rms_norm(empty_gated, nullptr), cudaSuccess);
  p.rows = 1;
  EXPECT_NE(kernels::can_implement(p), nullptr);  // null pointers
  int dummy = 0;
  p.x = p.w = p.y = &dummy;
  p.rows = 4;
  p.dim = 0;
  EXPECT_NE(kernels::can_implement(p), nullptr);
  p.dim = 64;
  p.ldx = 32;
  EXPECT_NE(kernels::can_implement(p), nullptr);
  p.ldx = 0;
  EXPECT_EQ(kernels::can_implement(p), nullptr);
  kernels::GatedRmsNormParams g;
  g.x = g.w = g.y = &dummy;
  g.rows = 1;
  g.dim = 100;
  g.group_size = 30;
  EXPECT_NE(kernels::can_implement(g), nullptr);
  kernels::AddRmsNormParams a;
  a.x = a.w = &dummy;
  a.residual = a.y = &dummy;
  a.rows = 1;
  a.dim = 8;
  EXPECT_NE(kernels::can_implement(a), nullptr);  // y aliasing the residual
}

}  // namespace
}  // namespace vamba::testing::dense
