#include "kernels/reference/norm.h"

#include <gtest/gtest.h>

#include <cmath>

#include "kernels/reference/activation.h"
#include "tests/kernels_ref/test_util.h"

namespace vamba::kernels::reference {
namespace {

TEST(ReferenceNorm, RmsNormMatchesFloat64) {
  const int64_t rows = 5, dim = 96;
  const auto x = test::randn(rows * dim, 1, 3.0f);
  const auto w = test::randn(dim, 2);
  std::vector<float> y(rows * dim);
  rms_norm(x.data(), w.data(), y.data(), rows, dim, 1e-6f);
  std::vector<double> want(rows * dim);
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < dim; ++i) ss += double(x[r * dim + i]) * x[r * dim + i];
    const double s = 1.0 / std::sqrt(ss / dim + 1e-6);
    for (int64_t i = 0; i < dim; ++i) want[r * dim + i] = x[r * dim + i] * s * w[i];
  }
  EXPECT_LT(test::rel(y, want), 1e-6);
}

TEST(ReferenceNorm, AddRmsNormEqualsAddThenNorm) {
  const int64_t rows = 4, dim = 64;
  auto h = test::randn(rows * dim, 1);
  const auto x = test::randn(rows * dim, 2);
  const auto w = test::randn(dim, 3);
  std::vector<float> sum(rows * dim), want(rows * dim), y(rows * dim);
  add(h.data(), x.data(), sum.data(), rows * dim);
  rms_norm(sum.data(), w.data(), want.data(), rows, dim, 1e-5f);
  add_rms_norm(h.data(), x.data(), w.data(), y.data(), rows, dim, 1e-5f);
  EXPECT_EQ(h, sum);
  EXPECT_EQ(y, want);
}

TEST(ReferenceNorm, LayerNormMatchesFloat64) {
  const int64_t rows = 3, dim = 80;
  const auto x = test::randn(rows * dim, 1, 2.0f);
  const auto w = test::randn(dim, 2);
  const auto b = test::randn(dim, 3);
  std::vector<float> y(rows * dim);
  layer_norm(x.data(), w.data(), b.data(), y.data(), rows, dim, 1e-6f);
  std::vector<double> want(rows * dim);
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < dim; ++i) mean += x[r * dim + i];
    mean /= dim;
    for (int64_t i = 0; i < dim; ++i) var += (x[r * dim + i] - mean) * (x[r * dim + i] - mean);
    var /= dim;
    for (int64_t i = 0; i < dim; ++i) {
      want[r * dim + i] = (x[r * dim + i] - mean) / std::sqrt(var + 1e-6) * w[i] + b[i];
    }
  }
  EXPECT_LT(test::rel(y, want), 1e-6);
}

// RMSNormGated over groups, both gate orders, against float64.
TEST(ReferenceNorm, GatedRmsNormPerGroupBothOrders) {
  const int64_t rows = 3, dim = 48, group = 16;
  const auto x = test::randn(rows * dim, 1);
  const auto z = test::randn(rows * dim, 2);
  const auto w = test::randn(dim, 3);
  for (bool before : {false, true}) {
    std::vector<float> y(rows * dim);
    gated_rms_norm(x.data(), z.data(), w.data(), y.data(), rows, dim, group, before, 1e-5f);
    std::vector<double> want(rows * dim);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t g0 = 0; g0 < dim; g0 += group) {
        std::vector<double> v(group);
        for (int64_t i = 0; i < group; ++i) {
          const double zz = z[r * dim + g0 + i];
          const double silu = zz / (1 + std::exp(-zz));
          v[i] = before ? x[r * dim + g0 + i] : x[r * dim + g0 + i] * silu;
        }
        double ss = 0;
        for (double e : v) ss += e * e;
        const double s = 1 / std::sqrt(ss / group + 1e-5);
        for (int64_t i = 0; i < group; ++i) {
          const double zz = z[r * dim + g0 + i];
          const double silu = zz / (1 + std::exp(-zz));
          want[r * dim + g0 + i] = v[i] * s * w[g0 + i] * (before ? silu : 1.0);
        }
      }
    }
    EXPECT_LT(test::rel(y, want), 1e-6) << "norm_before_gate " << before;
  }
}

TEST(ReferenceActivation, MatchFloat64Formulas) {
  const auto x = test::randn(200, 1, 4.0f);
  const auto u = test::randn(200, 2);
  std::vector<float> y(200);
  std::vector<double> want(200);
  quick_gelu(x.data(), y.data(), 200);
  for (int i = 0; i < 200; ++i) want[i] = x[i] / (1 + std::exp(-1.702 * x[i]));
  EXPECT_LT(test::rel(y, want), 1e-6);
  gelu(x.data(), y.data(), 200);
  for (int i = 0; i < 200; ++i) want[i] = 0.5 * x[i] * (1 + std::erf(x[i] / std::sqrt(2.0)));
  EXPECT_LT(test::rel(y, want), 1e-6);
  silu_mul(x.data(), u.data(), y.data(), 200);
  for (int i = 0; i < 200; ++i) want[i] = x[i] / (1 + std::exp(-double(x[i]))) * u[i];
  EXPECT_LT(test::rel(y, want), 1e-6);
}

}  // namespace
}  // namespace vamba::kernels::reference
