#include "kernels/reference/rope.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/kernels_ref/test_util.h"

namespace vamba::kernels::reference {
namespace {

// With three equal position rows M-RoPE is plain RoPE: angle p / theta^(2i/D), in float64.
TEST(ReferenceRope, TextMropeIsPlainRope) {
  const int64_t n = 40, D = 32;
  const int section[3] = {4, 6, 6};
  std::vector<int64_t> pos(3 * n);
  for (int r = 0; r < 3; ++r) {
    for (int64_t i = 0; i < n; ++i) pos[r * n + i] = 1000 + 7 * i;
  }
  std::vector<float> c(n * D / 2), s(n * D / 2);
  mrope_angles(pos.data(), n, D, section, 1e6f, c.data(), s.data());
  std::vector<double> wc(n * D / 2), ws(n * D / 2);
  for (int64_t p = 0; p < n; ++p) {
    for (int64_t i = 0; i < D / 2; ++i) {
      const double a = double(1000 + 7 * p) / std::pow(1e6, 2.0 * i / D);
      wc[p * D / 2 + i] = std::cos(a);
      ws[p * D / 2 + i] = std::sin(a);
    }
  }
  // fp32 angles (as PyTorch) drift from float64 by ~1e-7 relative of the angle.
  EXPECT_LT(test::rel(c, wc), 1e-5);
  EXPECT_LT(test::rel(s, ws), 1e-5);
}

TEST(ReferenceRope, MropeSectionsReadTheirOwnPositionRow) {
  const int64_t n = 3, D = 32;
  const int section[3] = {4, 6, 6};
  std::vector<int64_t> pos = {1, 2, 3, 10, 20, 30, 100, 200, 300};  // rows t, h, w
  std::vector<float> c(n * 16), s(n * 16), one(16);
  mrope_angles(pos.data(), n, D, section, 1e4f, c.data(), s.data());
  std::vector<float> inv(16);
  rope_inv_freq(1e4f, D, inv.data());
  for (int64_t p = 0; p < n; ++p) {
    for (int64_t i = 0; i < 16; ++i) {
      const int row = i < 4 ? 0 : (i < 10 ? 1 : 2);
      const float a = float(pos[row * n + p]) * inv[i];
      EXPECT_FLOAT_EQ(c[p * 16 + i], float(std::cos(double(a)))) << p << "," << i;
      EXPECT_FLOAT_EQ(s[p * 16 + i], float(std::sin(double(a)))) << p << "," << i;
    }
  }
}

// q·k after rotation depends only on the distance between their positions.
TEST(ReferenceRope, RotationIsRelative) {
  const int64_t D = 64;
  const int section[3] = {8, 12, 12};
  auto q = test::randn(D, 1), k = test::randn(D, 2);
  auto dot_at = [&](int64_t pq, int64_t pk) {
    std::vector<int64_t> pos = {pq, pk, pq, pk, pq, pk};
    std::vector<float> c(2 * D / 2), s(2 * D / 2);
    mrope_angles(pos.data(), 2, D, section, 1e4f, c.data(), s.data());
    std::vector<float> qk(2 * D);
    std::copy(q.begin(), q.end(), qk.begin());
    std::copy(k.begin(), k.end(), qk.begin() + D);
    apply_rotary(qk.data(), c.data(), s.data(), 2, 1, D);
    double d = 0;
    for (int64_t i = 0; i < D; ++i) d += double(qk[i]) * qk[D + i];
    return d;
  };
  EXPECT_NEAR(dot_at(5, 2), dot_at(105, 102), 1e-4);
  EXPECT_NEAR(dot_at(0, 0), dot_at(50, 50), 1e-4);
}

// The vision table against a direct transcription of Qwen2-VL's rot_pos_emb: hpos/wpos grids
// reshaped to (h/m, m, w/m, m), permuted to (0, 2, 1, 3), flattened, repeated over t.
TEST(ReferenceRope, VisionAnglesFollowMergeBlockOrder) {
  const int64_t grid[6] = {2, 4, 6, 1, 2, 2};
  const int64_t m = 2, D = 16, quarter = D / 4;
  const int64_t n = 2 * 4 * 6 + 1 * 2 * 2;
  std::vector<float> c(n * D / 2), s(n * D / 2);
  vision_rope_angles(grid, 2, m, D, 1e4f, c.data(), s.data());
  int64_t p = 0;
  for (int g = 0; g < 2; ++g) {
    const int64_t t = grid[g * 3], h = grid[g * 3 + 1], w = grid[g * 3 + 2];
    std::vector<int64_t> hpos, wpos;
    for (int64_t a = 0; a < h / m; ++a)
      for (int64_t b = 0; b < w / m; ++b)
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < m; ++j) {
            hpos.push_back(a * m + i);
            wpos.push_back(b * m + j);
          }
    for (int64_t ti = 0; ti < t; ++ti) {
      for (size_t q = 0; q < hpos.size(); ++q, ++p) {
        for (int64_t k = 0; k < quarter; ++k) {
          const double f = 1.0 / std::pow(1e4, 2.0 * k / (D / 2));
          EXPECT_NEAR(c[p * D / 2 + k], std::cos(hpos[q] * f), 1e-6);
          EXPECT_NEAR(s[p * D / 2 + quarter + k], std::sin(wpos[q] * f), 1e-6);
        }
      }
    }
  }
  EXPECT_EQ(p, n);
}

TEST(ReferenceRope, ApplyRotaryRotateHalfConvention) {
  const int64_t D = 8;
  std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<float> c = {0.5f, 1, 0, -1}, s = {0.25f, 0, 1, 0};
  apply_rotary(x.data(), c.data(), s.data(), 1, 1, D);
  // out[i] = x[i]c − x[i+4]s; out[i+4] = x[i+4]c + x[i]s
  const std::vector<float> want = {1 * 0.5f - 5 * 0.25f, 2, -7, -4, 5 * 0.5f + 1 * 0.25f, 6, 3, -8};
  EXPECT_EQ(x, want);
}

}  // namespace
}  // namespace vamba::kernels::reference
