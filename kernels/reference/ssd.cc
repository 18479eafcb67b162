#include "kernels/reference/ssd.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/reference/math.h"
#include "kernels/reference/parallel.h"

namespace vamba::kernels::reference {

void ssd_scan(const float* x, const float* dt, const float* A, const float* B, const float* C,
              const float* D, const float* initial_state, float* y, float* final_state,
              const SsdParams& p) {
  const int64_t L = p.length, H = p.nheads, P = p.headdim, G = p.ngroups, N = p.dstate;
  const int64_t heads_per_group = H / G;
  parallel_for(0, H, 1, [&](int64_t h0, int64_t h1) {
    std::vector<float> S(static_cast<size_t>(P * N));  // (P, N)
    for (int64_t h = h0; h < h1; ++h) {
      const int64_t g = h / heads_per_group;
      if (initial_state) {
        std::copy(initial_state + h * P * N, initial_state + (h + 1) * P * N, S.begin());
      } else {
        std::fill(S.begin(), S.end(), 0.0f);
      }
      for (int64_t t = 0; t < L; ++t) {
        const float dt_t = dt[t * H + h];
        const float dA = std::exp(dt_t * A[h]);
        const float* Bt = B + (t * G + g) * N;
        const float* Ct = C + (t * G + g) * N;
        const float* xt = x + (t * H + h) * P;
        float* yt = y + (t * H + h) * P;
        for (int64_t i = 0; i < P; ++i) {
          float* Si = S.data() + i * N;
          const float dtx = dt_t * xt[i];
          float acc = 0.0f;
          for (int64_t n = 0; n < N; ++n) {
            Si[n] = dA * Si[n] + dtx * Bt[n];
            acc += Ct[n] * Si[n];
          }
          yt[i] = acc + (D ? D[h] * xt[i] : 0.0f);
        }
      }
      if (final_state) std::copy(S.begin(), S.end(), final_state + h * P * N);
    }
  });
}

void ssd_step(const float* x, const float* dt, const float* A, const float* B, const float* C,
              const float* D, float* state, float* y, const SsdParams& p) {
  SsdParams one = p;
  one.length = 1;
  ssd_scan(x, dt, A, B, C, D, state, y, state, one);
}

void dt_softplus(const float* dt_raw, const float* dt_bias, float* dt, int64_t length,
                 int64_t nheads, float lo, float hi) {
  for (int64_t t = 0; t < length; ++t) {
    for (int64_t h = 0; h < nheads; ++h) {
      const float v = softplus(dt_raw[t * nheads + h] + dt_bias[h]);
      dt[t * nheads + h] = std::min(std::max(v, lo), hi);
    }
  }
}

}  // namespace vamba::kernels::reference
