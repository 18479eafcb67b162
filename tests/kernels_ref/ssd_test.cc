#include "kernels/reference/ssd.h"

#include <gtest/gtest.h>

#include <cmath>

#include "kernels/reference/math.h"
#include "tests/kernels_ref/test_util.h"

namespace vamba::kernels::reference {
namespace {

struct Problem {
  SsdParams p;
  std::vector<float> x, dt, A, B, C, D, init;
};

Problem make(int64_t L, int64_t H, int64_t P, int64_t G, int64_t N, uint64_t seed) {
  Problem q;
  q.p.length = L;
  q.p.nheads = H;
  q.p.headdim = P;
  q.p.ngroups = G;
  q.p.dstate = N;
  q.x = test::randn(L * H * P, seed + 1);
  q.dt = test::uniform(L * H, seed + 2, 0.001f, 0.3f);
  q.A = test::uniform(H, seed + 3, -8.0f, -0.5f);
  q.B = test::randn(L * G * N, seed + 4);
  q.C = test::randn(L * G * N, seed + 5);
  q.D = test::randn(H, seed + 6);
  q.init = test::randn(H * P * N, seed + 7, 0.5f);
  return q;
}

// The chunked (SSD) form in float64, an independent formulation of the same recurrence: inside a
// chunk, y_t = Σ_{s ≤ t} (C_t·B_s) e^{cum_t − cum_s} dt_s x_s + e^{cum_t} C_t·S_in, and the state
// passed on is e^{cum_end} S_in + Σ_s e^{cum_end − cum_s} dt_s B_s ⊗ x_s, with cum the running sum
// of dt·A inside the chunk.
void chunked_f64(const Problem& q, int64_t Q, std::vector<double>* y, std::vector<double>* state) {
  const int64_t L = q.p.length, H = q.p.nheads, P = q.p.headdim, G = q.p.ngroups, N = q.p.dstate;
  y->assign(L * H * P, 0.0);
  state->assign(q.init.begin(), q.init.end());
  for (int64_t h = 0; h < H; ++h) {
    const int64_t g = h / (H / G);
    double* S = state->data() + h * P * N;
    for (int64_t c0 = 0; c0 < L; c0 += Q) {
      const int64_t c1 = std::min(L, c0 + Q);
      std::vector<double> cum(c1 - c0);
      double run = 0;
      for (int64_t t = c0; t < c1; ++t) cum[t - c0] = (run += double(q.dt[t * H + h]) * q.A[h]);
      for (int64_t t = c0; t < c1; ++t) {
        for (int64_t i = 0; i < P; ++i) {
          double acc = 0;
          for (int64_t n = 0; n < N; ++n) acc += q.C[(t * G + g) * N + n] * S[i * N + n];
          acc *= std::exp(cum[t - c0]);
          for (int64_t s = c0; s <= t; ++s) {
            double cb = 0;
            for (int64_t n = 0; n < N; ++n)
              cb += double(q.C[(t * G + g) * N + n]) * q.B[(s * G + g) * N + n];
            acc += cb * std::exp(cum[t - c0] - cum[s - c0]) * q.dt[s * H + h] *
                   q.x[(s * H + h) * P + i];
          }
          (*y)[(t * H + h) * P + i] = acc + double(q.D[h]) * q.x[(t * H + h) * P + i];
        }
      }
      const double end = cum.back();
      for (int64_t i = 0; i < P; ++i) {
        for (int64_t n = 0; n < N; ++n) {
          double v = std::exp(end) * S[i * N + n];
          for (int64_t s = c0; s < c1; ++s) {
            v += std::exp(end - cum[s - c0]) * q.dt[s * H + h] * q.B[(s * G + g) * N + n] *
                 q.x[(s * H + h) * P + i];
          }
          S[i * N + n] = v;
        }
      }
    }
  }
}

TEST(ReferenceSsd, SequentialMatchesChunkedFloat64) {
  for (int64_t G : {1, 2}) {
    const Problem q = make(/*L=*/45, /*H=*/4, /*P=*/6, G, /*N=*/8, 10 * G);
    std::vector<float> y(q.x.size()), fin(q.init.size());
    ssd_scan(q.x.data(), q.dt.data(), q.A.data(), q.B.data(), q.C.data(), q.D.data(), q.init.data(),
             y.data(), fin.data(), q.p);
    std::vector<double> want_y, want_state;
    chunked_f64(q, /*Q=*/16, &want_y, &want_state);
    EXPECT_LT(test::rel(y, want_y), 1e-5) << "ngroups " << G;
    EXPECT_LT(test::rel(fin, want_state), 1e-5) << "ngroups " << G;
  }
}

TEST(ReferenceSsd, PiecesAndStepsEqualOneScan) {
  const Problem q = make(30, 3, 4, 1, 5, 99);
  const int64_t H = 3, P = 4, N = 5;
  std::vector<float> y(q.x.size()), fin(q.init.size());
  ssd_scan(q.x.data(), q.dt.data(), q.A.data(), q.B.data(), q.C.data(), q.D.data(), nullptr,
           y.data(), fin.data(), q.p);

  std::vector<float> y2(q.x.size()), s2(q.init.size(), 0.0f);
  int64_t at = 0;
  for (int64_t piece : {1, 13, 2, 14}) {
    SsdParams pp = q.p;
    pp.length = piece;
    ssd_scan(q.x.data() + at * H * P, q.dt.data() + at * H, q.A.data(), q.B.data() + at * N,
             q.C.data() + at * N, q.D.data(), s2.data(), y2.data() + at * H * P, s2.data(), pp);
    at += piece;
  }
  EXPECT_EQ(y2, y);
  EXPECT_EQ(s2, fin);

  std::vector<float> y3(q.x.size()), s3(q.init.size(), 0.0f);
  for (int64_t t = 0; t < 30; ++t) {
    ssd_step(q.x.data() + t * H * P, q.dt.data() + t * H, q.A.data(), q.B.data() + t * N,
             q.C.data() + t * N, q.D.data(), s3.data(), y3.data() + t * H * P, q.p);
  }
  EXPECT_EQ(y3, y);
  EXPECT_EQ(s3, fin);
}

TEST(ReferenceSsd, DtSoftplusAndLimit) {
  const std::vector<float> raw = {-30.0f, -1.0f, 0.0f, 2.0f, 25.0f, 0.5f};
  const std::vector<float> bias = {0.5f, -0.25f};
  std::vector<float> dt(6);
  dt_softplus(raw.data(), bias.data(), dt.data(), 3, 2, 0.0f, INFINITY);
  for (int i = 0; i < 6; ++i) {
    const double v = double(raw[i]) + bias[i % 2];
    EXPECT_NEAR(dt[i], std::log1p(std::exp(v)), 1e-6 * std::max(1.0, v)) << i;
  }
  dt_softplus(raw.data(), bias.data(), dt.data(), 3, 2, 0.01f, 1.0f);
  for (int i = 0; i < 6; ++i) {
    EXPECT_GE(dt[i], 0.01f);
    EXPECT_LE(dt[i], 1.0f);
  }
}

}  // namespace
}  // namespace vamba::kernels::reference
