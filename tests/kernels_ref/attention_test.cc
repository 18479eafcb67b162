#include "kernels/reference/attention.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/kernels_ref/test_util.h"

namespace vamba::kernels::reference {
namespace {

// Brute force in float64 with an explicit mask: allowed(i, j).
template <typename Allowed>
std::vector<double> brute(const std::vector<float>& q, const std::vector<float>& k,
                          const std::vector<float>& v, int64_t nq, int64_t nk, int64_t Hq,
                          int64_t Hkv, int64_t D, double scale, Allowed allowed) {
  std::vector<double> out(nq * Hq * D, 0.0);
  for (int64_t i = 0; i < nq; ++i) {
    for (int64_t h = 0; h < Hq; ++h) {
      const int64_t hk = h / (Hq / Hkv);
      std::vector<double> w(nk, 0.0);
      double mx = -1e300, den = 0;
      for (int64_t j = 0; j < nk; ++j) {
        if (!allowed(i, j)) continue;
        double d = 0;
        for (int64_t e = 0; e < D; ++e)
          d += double(q[(i * Hq + h) * D + e]) * k[(j * Hkv + hk) * D + e];
        w[j] = d * scale;
        mx = std::max(mx, w[j]);
      }
      for (int64_t j = 0; j < nk; ++j) {
        if (!allowed(i, j)) continue;
        w[j] = std::exp(w[j] - mx);
        den += w[j];
      }
      for (int64_t j = 0; j < nk; ++j) {
        if (!allowed(i, j)) continue;
        for (int64_t e = 0; e < D; ++e)
          out[(i * Hq + h) * D + e] += w[j] / den * v[(j * Hkv + hk) * D + e];
      }
    }
  }
  return out;
}

AttentionParams params(int64_t nq, int64_t nk, int64_t Hq, int64_t Hkv, int64_t D) {
  AttentionParams p;
  p.n_q = nq;
  p.n_k = nk;
  p.num_heads = Hq;
  p.num_kv_heads = Hkv;
  p.head_dim = D;
  p.scale = 1.0f / std::sqrt(float(D));
  return p;
}

TEST(ReferenceAttention, CrossGqaMatchesBruteForce) {
  const int64_t nq = 5, nk = 300, Hq = 4, Hkv = 2, D = 16;
  const auto q = test::randn(nq * Hq * D, 1), k = test::randn(nk * Hkv * D, 2),
             v = test::randn(nk * Hkv * D, 3);
  std::vector<float> out(nq * Hq * D);
  const auto p = params(nq, nk, Hq, Hkv, D);
  attention(q.data(), k.data(), v.data(), out.data(), p);
  const auto want =
      brute(q, k, v, nq, nk, Hq, Hkv, D, p.scale, [](int64_t, int64_t) { return true; });
  EXPECT_LT(test::rel(out, want), 1e-6);
}

TEST(ReferenceAttention, CausalPrefillMatchesBruteForce) {
  const int64_t n = 17, Hq = 4, Hkv = 1, D = 8;
  const auto q = test::randn(n * Hq * D, 4), k = test::randn(n * Hkv * D, 5),
             v = test::randn(n * Hkv * D, 6);
  std::vector<float> out(n * Hq * D);
  auto p = params(n, n, Hq, Hkv, D);
  p.causal = true;
  attention(q.data(), k.data(), v.data(), out.data(), p);
  const auto want =
      brute(q, k, v, n, n, Hq, Hkv, D, p.scale, [](int64_t i, int64_t j) { return j <= i; });
  EXPECT_LT(test::rel(out, want), 1e-6);
}

// Decoding the last rows against the full cache (q_offset) equals those rows of the prefill.
TEST(ReferenceAttention, DecodeAgainstCacheEqualsPrefillRows) {
  const int64_t n = 12, Hq = 2, Hkv = 2, D = 8, tail = 3;
  const auto q = test::randn(n * Hq * D, 7), k = test::randn(n * Hkv * D, 8),
             v = test::randn(n * Hkv * D, 9);
  std::vector<float> full(n * Hq * D), part(tail * Hq * D);
  auto p = params(n, n, Hq, Hkv, D);
  p.causal = true;
  attention(q.data(), k.data(), v.data(), full.data(), p);
  auto d = params(tail, n, Hq, Hkv, D);
  d.causal = true;
  d.q_offset = n - tail;
  attention(q.data() + (n - tail) * Hq * D, k.data(), v.data(), part.data(), d);
  for (int64_t i = 0; i < tail * Hq * D; ++i) EXPECT_EQ(part[i], full[(n - tail) * Hq * D + i]);
}

TEST(ReferenceAttention, SegmentsAttendWithinTheirOwnRange) {
  const int64_t n = 20, Hq = 2, Hkv = 2, D = 8;
  const auto q = test::randn(n * Hq * D, 10), k = test::randn(n * Hkv * D, 11),
             v = test::randn(n * Hkv * D, 12);
  const std::vector<int64_t> cu = {0, 6, 6, 15, 20};  // includes an empty segment
  auto seg = [&](int64_t i) {
    int s = 0;
    while (!(cu[s] <= i && i < cu[s + 1])) ++s;
    return s;
  };
  std::vector<float> out(n * Hq * D);
  auto p = params(n, n, Hq, Hkv, D);
  p.cu_seqlens = cu.data();
  p.num_segments = 4;
  attention(q.data(), k.data(), v.data(), out.data(), p);
  const auto want = brute(q, k, v, n, n, Hq, Hkv, D, p.scale,
                          [&](int64_t i, int64_t j) { return seg(i) == seg(j); });
  EXPECT_LT(test::rel(out, want), 1e-6);
}

}  // namespace
}  // namespace vamba::kernels::reference
