#include "kernels/reference/conv1d.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/kernels_ref/test_util.h"

namespace vamba::kernels::reference {
namespace {

Conv1dParams params(int64_t L, int64_t C, int64_t W, bool silu = true) {
  Conv1dParams p;
  p.length = L;
  p.channels = C;
  p.width = W;
  p.silu = silu;
  return p;
}

// Against PyTorch's definition: conv1d with padding W−1, first L outputs, then SiLU (float64).
TEST(ReferenceConv1d, MatchesPaddedConvolution) {
  const int64_t L = 19, C = 7, W = 4;
  const auto x = test::randn(L * C, 1), w = test::randn(C * W, 2), b = test::randn(C, 3);
  std::vector<float> y(L * C);
  causal_conv1d(x.data(), w.data(), b.data(), nullptr, y.data(), nullptr, params(L, C, W));
  std::vector<double> want(L * C);
  for (int64_t t = 0; t < L; ++t) {
    for (int64_t c = 0; c < C; ++c) {
      double acc = b[c];
      for (int64_t j = 0; j < W; ++j) {
        const int64_t src = t - (W - 1) + j;
        if (src >= 0) acc += double(w[c * W + j]) * x[src * C + c];
      }
      want[t * C + c] = acc / (1 + std::exp(-acc));
    }
  }
  EXPECT_LT(test::rel(y, want), 1e-6);
}

// Prefill over the whole sequence equals prefill in pieces (any lengths, shorter than W too)
// equals the one-step update applied token by token; final states agree.
TEST(ReferenceConv1d, PiecesAndStepsEqualPrefill) {
  const int64_t L = 23, C = 5, W = 4;
  const auto x = test::randn(L * C, 4), w = test::randn(C * W, 5), b = test::randn(C, 6);
  std::vector<float> y(L * C), state(3 * C);
  causal_conv1d(x.data(), w.data(), b.data(), nullptr, y.data(), state.data(), params(L, C, W));

  std::vector<float> y2(L * C), s2(3 * C, 0.0f);
  int64_t at = 0;
  for (int64_t piece : {1, 2, 7, 1, 12}) {
    causal_conv1d(x.data() + at * C, w.data(), b.data(), s2.data(), y2.data() + at * C, s2.data(),
                  params(piece, C, W));
    at += piece;
  }
  ASSERT_EQ(at, L);
  EXPECT_EQ(y2, y);
  EXPECT_EQ(s2, state);

  std::vector<float> y3(L * C), s3(3 * C, 0.0f);
  for (int64_t t = 0; t < L; ++t) {
    causal_conv1d_update(x.data() + t * C, w.data(), b.data(), s3.data(), y3.data() + t * C,
                         params(1, C, W));
  }
  EXPECT_LT(test::max_abs_diff(y3, y), 1e-6);
  EXPECT_EQ(s3, state);
}

}  // namespace
}  // namespace vamba::kernels::reference
