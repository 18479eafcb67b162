#include "kernels/reference/linear.h"

#include <gtest/gtest.h>

#include "tests/kernels_ref/test_util.h"

namespace vamba::kernels::reference {
namespace {

// Against a float64 triple loop, over shapes that hit every tile remainder and several k blocks.
TEST(ReferenceLinear, MatchesFloat64) {
  struct Case {
    int64_t m, n, k;
    bool bias;
  };
  for (const Case c :
       {Case{1, 1, 1, true}, Case{1, 67, 129, false}, Case{3, 5, 7, true}, Case{130, 69, 300, true},
        Case{65, 130, 513, false}, Case{2, 1000, 64, true}}) {
    const auto x = test::randn(c.m * c.k, 1);
    const auto w = test::randn(c.n * c.k, 2);
    const auto b = test::randn(c.n, 3);
    std::vector<float> y(c.m * c.n, -7.0f);
    linear(x.data(), w.data(), c.bias ? b.data() : nullptr, y.data(), c.m, c.n, c.k);
    std::vector<double> want(c.m * c.n);
    for (int64_t i = 0; i < c.m; ++i) {
      for (int64_t j = 0; j < c.n; ++j) {
        double s = c.bias ? b[j] : 0.0;
        for (int64_t t = 0; t < c.k; ++t) s += double(x[i * c.k + t]) * w[j * c.k + t];
        want[i * c.n + j] = s;
      }
    }
    EXPECT_LT(test::rel(y, want), 1e-6) << c.m << "x" << c.n << "x" << c.k;
  }
}

TEST(ReferenceLinear, RowsAreIndependentOfBatch) {
  // A row's result must not depend on how many rows are computed with it: the model relies on
  // this for a video fed in pieces giving bit-identical K/V.
  const int64_t m = 37, n = 70, k = 260;
  const auto x = test::randn(m * k, 4);
  const auto w = test::randn(n * k, 5);
  std::vector<float> all(m * n), one(n);
  linear(x.data(), w.data(), nullptr, all.data(), m, n, k);
  for (int64_t i = 0; i < m; ++i) {
    linear(x.data() + i * k, w.data(), nullptr, one.data(), 1, n, k);
    for (int64_t j = 0; j < n; ++j) ASSERT_EQ(one[j], all[i * n + j]) << i << "," << j;
  }
}

}  // namespace
}  // namespace vamba::kernels::reference
