// Activations, SwiGLU, adds and the alpha blend (kernels/elementwise) against
// kernels/reference/activation.h, plus the bf16 <-> f32 casts.
#include <gtest/gtest.h>

#include "kernels/elementwise/activation.h"
#include "kernels/elementwise/add.h"
#include "kernels/elementwise/cast.h"
#include "kernels/reference/activation.h"
#include "tests/kernels_cuda/dense_test_util.h"

namespace vamba::testing::dense {
namespace {

struct EwCase {
  int64_t rows, cols, ld;  // row stride of every operand (≥ cols)
};

// 7B widths, an odd width (scalar path), a stride that breaks 16-byte alignment, tiny.
const EwCase kCases[] = {{1, 3584, 3584}, {16, 18944, 18944}, {3, 152064, 152064}, {7, 1001, 1001},
                         {5, 3584, 3592}, {4, 3584, 3585},    {1, 1, 1},           {513, 128, 128}};

std::string name(const EwCase& c) {
  return std::to_string(c.rows) + "x" + std::to_string(c.cols) + " ld=" + std::to_string(c.ld);
}

TEST(DenseElementwise, ActivationsMatchReference) {
  VAMBA_SKIP_WITHOUT_GPU();
  uint64_t seed = 500;
  const std::pair<kernels::Activation, const char*> acts[] = {
      {kernels::Activation::kSilu, "silu"},
      {kernels::Activation::kQuickGelu, "quick_gelu"},
      {kernels::Activation::kGelu, "gelu"}};
  for (const auto& [act, act_name] : acts) {
    for (const EwCase& c : kCases) {
      SCOPED_TRACE(std::string(act_name) + " " + name(c));
      const size_t n = static_cast<size_t>(c.rows * c.ld);
      const Bf16Host x = random_bf16(n, ++seed, 3.0f);
      DeviceBuffer dx = upload(x.bits), dy(n * 2);
      ASSERT_TRUE(dx.ok() && dy.ok());
      DENSE_CUDA_OK(poison(dy.get(), dy.bytes()));
      kernels::ActivationParams p;
      p.x = dx.get();
      p.y = dy.get();
      p.rows = c.rows;
      p.cols = c.cols;
      p.ldx = p.ldy = c.ld;
      p.act = act;
      ASSERT_EQ(kernels::can_implement(p), nullptr);
      DENSE_CUDA_OK(kernels::activation(p, nullptr));
      DENSE_CUDA_OK(cudaDeviceSynchronize());
      const std::vector<float> xin = gather_rows(x.values, c.rows, c.cols, c.ld);
      std::vector<float> ref(xin.size());
      const int64_t m = static_cast<int64_t>(xin.size());
      if (act == kernels::Activation::kSilu) kernels::reference::silu(xin.data(), ref.data(), m);
      if (act == kernels::Activation::kQuickGelu) {
        kernels::reference::quick_gelu(xin.data(), ref.data(), m);
      }
      if (act == kernels::Activation::kGelu) kernels::reference::gelu(xin.data(), ref.data(), m);
      const auto out = download_bf16(dy.get(), n);
      const double err = rel_l2(bf16_bits_to_float(gather_rows(out, c.rows, c.cols, c.ld)), ref);
      report_parity(std::string(act_name) + " " + name(c), err);
      EXPECT_LT(err, kBf16OutTol);
      EXPECT_TRUE(padding_untouched(out, c.rows, c.cols, c.ld));
    }
  }
}

TEST(DenseElementwise, ActivationInPlace) {
  VAMBA_SKIP_WITHOUT_GPU();
  const Bf16Host x = random_bf16(18944 * 3, 550, 3.0f);
  DeviceBuffer d = upload(x.bits);
  ASSERT_TRUE(d.ok());
  kernels::ActivationParams p;
  p.x = p.y = d.get();
  p.rows = 3;
  p.cols = 18944;
  p.act = kernels::Activation::kGelu;
  DENSE_CUDA_OK(kernels::activation(p, nullptr));
  DENSE_CUDA_OK(cudaDeviceSynchronize());
  std::vector<float> ref(x.values.size());
  kernels::reference::gelu(x.values.data(), ref.data(), static_cast<int64_t>(ref.size()));
  EXPECT_LT(rel_l2(download_bf16_as_float(d.get(), ref.size()), ref), kBf16OutTol);
}

TEST(DenseElementwise, SiluMulMatchesReference) {
  VAMBA_SKIP_WITHOUT_GPU();
  uint64_t seed = 600;
  // Two separate tensors (the op layer's gate and up), then the fused (n, 2I) layout where gate and
  // up are the two halves of each row.
  for (const EwCase& c : kCases) {
    SCOPED_TRACE(name(c));
    const size_t n = static_cast<size_t>(c.rows * c.ld);
    const Bf16Host g = random_bf16(n, ++seed, 2.0f), u = random_bf16(n, ++seed);
    DeviceBuffer dg = upload(g.bits), du = upload(u.bits), dy(n * 2);
    ASSERT_TRUE(dg.ok() && du.ok() && dy.ok());
    DENSE_CUDA_OK(poison(dy.get(), dy.bytes()));
    kernels::SiluMulParams p;
    p.gate = dg.get();
    p.up = du.get();
    p.y = dy.get();
    p.rows = c.rows;
    p.cols = c.cols;
    p.ld_gate = p.ld_up = p.ldy = c.ld;
    ASSERT_EQ(kernels::can_implement(p), nullptr);
    DENSE_CUDA_OK(kernels::silu_mul(p, nullptr));
    DENSE_CUDA_OK(cudaDeviceSynchronize());
    const auto gi = gather_rows(g.values, c.rows, c.cols, c.ld);
    const auto ui = gather_rows(u.values, c.rows, c.cols, c.ld);
    std::vector<float> ref(gi.size());
    kernels::reference::silu_mul(gi.data(), ui.data(), ref.data(), static_cast<int64_t>(gi.size()));
    const auto out = download_bf16(dy.get(), n);
    const double err = rel_l2(bf16_bits_to_float(gather_rows(out, c.rows, c.cols, c.ld)), ref);
    report_parity("silu_mul " + name(c), err);
    EXPECT_LT(err, kBf16OutTol);
    EXPECT_TRUE(padding_untouched(out, c.rows, c.cols, c.ld));
  }
  for (const int64_t inter : {int64_t{18944}, int64_t{256}, int64_t{1001}}) {
    SCOPED_TRACE("fused gate|up, I=" + std::to_string(inter));
    const int64_t rows = 9;
    const Bf16Host gu = random_bf16(static_cast<size_t>(rows * 2 * inter), ++seed, 2.0f);
    DeviceBuffer dgu = upload(gu.bits), dy(static_cast<size_t>(rows * inter) * 2);
    ASSERT_TRUE(dgu.ok() && dy.ok());
    DENSE_CUDA_OK(poison(dy.get(), dy.bytes()));
    kernels::SiluMulParams p;
    p.gate = dgu.get();
    p.up = dgu.as<uint16_t>() + inter;
    p.y = dy.get();
    p.rows = rows;
    p.cols = inter;
    p.ld_gate = p.ld_up = 2 * inter;
    DENSE_CUDA_OK(kernels::silu_mul(p, nullptr));
    DENSE_CUDA_OK(cudaDeviceSynchronize());
    std::vector<float> gi(static_cast<size_t>(rows * inter)), ui(gi.size()), ref(gi.size());
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < inter; ++j) {
        gi[r * inter + j] = gu.values[r * 2 * inter + j];
        ui[r * inter + j] = gu.values[r * 2 * inter + inter + j];
      }
    }
    kernels::reference::silu_mul(gi.data(), ui.data(), ref.data(), static_cast<int64_t>(gi.size()));
    const double err = rel_l2(download_bf16_as_float(dy.get(), ref.size()), ref);
    report_parity("silu_mul fused I=" + std::to_string(inter), err);
    EXPECT_LT(err, kBf16OutTol);
  }
}

TEST(DenseElementwise, AddAndBlendMatchReference) {
  VAMBA_SKIP_WITHOUT_GPU();
  uint64_t seed = 700;
  for (const EwCase& c : kCases) {
    for (const bool blend : {false, true}) {
      SCOPED_TRACE(name(c) + (blend ? " blend" : " add"));
      const size_t n = static_cast<size_t>(c.rows * c.ld);
      const Bf16Host a = random_bf16(n, ++seed, 4.0f), b = random_bf16(n, ++seed),
                     cc = random_bf16(n, ++seed);
      DeviceBuffer da = upload(a.bits), db = upload(b.bits), dc = upload(cc.bits), dy(n * 2);
      ASSERT_TRUE(da.ok() && db.ok() && dc.ok() && dy.ok());
      DENSE_CUDA_OK(poison(dy.get(), dy.bytes()));
      const float alpha = 0.3125f;  // a clamped alpha of the checkpoint; 1 − alpha below
      kernels::AddParams p;
      p.a = da.get();
      p.b = db.get();
      p.c = blend ? dc.get() : nullptr;
      p.y = dy.get();
      p.rows = c.rows;
      p.cols = c.cols;
      p.lda = p.ldb = p.ldc = p.ldy = c.ld;
      p.alpha_b = blend ? alpha : 1.0f;
      p.alpha_c = 1.0f - alpha;
      ASSERT_EQ(kernels::can_implement(p), nullptr);
      DENSE_CUDA_OK(kernels::add(p, nullptr));
      DENSE_CUDA_OK(cudaDeviceSynchronize());
      std::vector<float> ref = gather_rows(a.values, c.rows, c.cols, c.ld);
      const auto bi = gather_rows(b.values, c.rows, c.cols, c.ld);
      const auto ci = gather_rows(cc.values, c.rows, c.cols, c.ld);
      const int64_t m = static_cast<int64_t>(ref.size());
      if (blend) {
        kernels::reference::residual_blend(ref.data(), bi.data(), ci.data(), alpha, 1.0f - alpha,
                                           m);
      } else {
        kernels::reference::add(ref.data(), bi.data(), ref.data(), m);
      }
      const auto out = download_bf16(dy.get(), n);
      const double err = rel_l2(bf16_bits_to_float(gather_rows(out, c.rows, c.cols, c.ld)), ref);
      report_parity(std::string(blend ? "residual_blend " : "add ") + name(c), err);
      EXPECT_LT(err, kBf16OutTol);
      EXPECT_TRUE(padding_untouched(out, c.rows, c.cols, c.ld));
    }
  }
}

TEST(DenseElementwise, BroadcastBiasAdd) {
  VAMBA_SKIP_WITHOUT_GPU();
  uint64_t seed = 800;
  for (const EwCase& c : kCases) {
    SCOPED_TRACE(name(c));
    const size_t n = static_cast<size_t>(c.rows * c.ld);
    const Bf16Host y = random_bf16(n, ++seed), bias = random_bf16(c.cols, ++seed);
    DeviceBuffer dy = upload(y.bits), db = upload(bias.bits);
    ASSERT_TRUE(dy.ok() && db.ok());
    kernels::AddParams p;  // in place: y += bias
    p.a = p.y = dy.get();
    p.b = db.get();
    p.broadcast_b = true;
    p.rows = c.rows;
    p.cols = c.cols;
    p.lda = p.ldy = c.ld;
    DENSE_CUDA_OK(kernels::add(p, nullptr));
    DENSE_CUDA_OK(cudaDeviceSynchronize());
    std::vector<float> ref = gather_rows(y.values, c.rows, c.cols, c.ld);
    for (int64_t r = 0; r < c.rows; ++r) {
      for (int64_t j = 0; j < c.cols; ++j) ref[r * c.cols + j] += bias.values[j];
    }
    const auto out = download_bf16(dy.get(), n);
    EXPECT_LT(rel_l2(bf16_bits_to_float(gather_rows(out, c.rows, c.cols, c.ld)), ref), kBf16OutTol);
  }
}

TEST(DenseElementwise, CastsRoundTrip) {
  VAMBA_SKIP_WITHOUT_GPU();
  for (const int64_t n : {int64_t{1}, int64_t{1001}, int64_t{3584 * 37}, int64_t{152064}}) {
    SCOPED_TRACE(n);
    std::mt19937_64 rng(900 + n);
    std::normal_distribution<float> dist(0.0f, 10.0f);
    std::vector<float> f(static_cast<size_t>(n));
    for (auto& v : f) v = dist(rng);
    DeviceBuffer df = upload(f), db(static_cast<size_t>(n) * 2), dback(static_cast<size_t>(n) * 4);
    ASSERT_TRUE(df.ok() && db.ok() && dback.ok());
    DENSE_CUDA_OK(poison(db.get(), db.bytes()));
    DENSE_CUDA_OK(poison(dback.get(), dback.bytes()));
    DENSE_CUDA_OK(kernels::cast_f32_to_bf16(df.as<float>(), db.get(), n, nullptr));
    DENSE_CUDA_OK(kernels::cast_bf16_to_f32(db.get(), dback.as<float>(), n, nullptr));
    DENSE_CUDA_OK(cudaDeviceSynchronize());
    // Exact: both directions must agree bit for bit with the host's round-to-nearest-even.
    const auto bits = download_bf16(db.get(), static_cast<size_t>(n));
    const auto back = download_f32(dback.get(), static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(bits[i], float_to_bf16(f[i]).bits) << i;
      ASSERT_EQ(back[i], bf16_to_float(float_to_bf16(f[i]))) << i;
    }
  }
}

}  // namespace
}  // namespace vamba::testing::dense
