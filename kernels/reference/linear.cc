#include "kernels/reference/linear.h"

#include <algorithm>

#include "kernels/reference/parallel.h"

namespace vamba::kernels::reference {
namespace {

// Both x and w are k-contiguous, so the kernel is a tile of dot products: kRows rows of x against
// kCols rows of w, each dot product kept as kLanes partial sums so the k loop carries no scalar
// reduction and the compiler vectorises it. 2 × 4 × 4 accumulators fit the 16 SSE registers of the
// x86-64 baseline with room for the six loads per step.
constexpr int kRows = 2;
constexpr int kCols = 4;
constexpr int kLanes = 4;
// Cache blocks: a task owns a (kBlockM × kBlockN) block of y and sweeps k in kBlockK slices, so the
// slices of x and w it re-reads (64 × 256 floats each, 64 KiB) stay in L2.
constexpr int64_t kBlockM = 64;
constexpr int64_t kBlockN = 64;
constexpr int64_t kBlockK = 256;

// acc[r][c] += Σ_{t ∈ [k0, k1)} xr[r][t] · wr[c][t]
template <int R, int C>
inline void tile_dot(const float* const* xr, const float* const* wr, int64_t k0, int64_t k1,
                     float* y, int64_t ldy) {
  float part[R][C][kLanes] = {};
  int64_t t = k0;
  for (; t + kLanes <= k1; t += kLanes) {
    for (int r = 0; r < R; ++r) {
      for (int c = 0; c < C; ++c) {
        for (int l = 0; l < kLanes; ++l) part[r][c][l] += xr[r][t + l] * wr[c][t + l];
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) {
      float s = 0.0f;
      for (int l = 0; l < kLanes; ++l) s += part[r][c][l];
      for (int64_t u = t; u < k1; ++u) s += xr[r][u] * wr[c][u];
      y[r * ldy + c] += s;
    }
  }
}

template <int R>
inline void tile_row(const float* const* xr, const float* w, int64_t k, int64_t c0, int64_t c1,
                     int64_t k0, int64_t k1, float* y, int64_t ldy) {
  for (int64_t c = c0; c < c1; c += kCols) {
    const float* wr[kCols];
    const int cols = static_cast<int>(std::min<int64_t>(kCols, c1 - c));
    for (int j = 0; j < cols; ++j) wr[j] = w + (c + j) * k;
    float* yt = y + c;
    switch (cols) {
      case 4:
        tile_dot<R, 4>(xr, wr, k0, k1, yt, ldy);
        break;
      case 3:
        tile_dot<R, 3>(xr, wr, k0, k1, yt, ldy);
        break;
      case 2:
        tile_dot<R, 2>(xr, wr, k0, k1, yt, ldy);
        break;
      default:
        tile_dot<R, 1>(xr, wr, k0, k1, yt, ldy);
        break;
    }
  }
}

// y[m0:m1, c0:c1] = x[m0:m1] · w[c0:c1]ᵀ + bias[c0:c1]
void block(const float* x, const float* w, const float* bias, float* y, int64_t n, int64_t k,
           int64_t m0, int64_t m1, int64_t c0, int64_t c1) {
  for (int64_t r = m0; r < m1; ++r) {
    for (int64_t c = c0; c < c1; ++c) y[r * n + c] = bias ? bias[c] : 0.0f;
  }
  for (int64_t k0 = 0; k0 < k; k0 += kBlockK) {
    const int64_t k1 = std::min(k, k0 + kBlockK);
    for (int64_t r = m0; r < m1; r += kRows) {
      const float* xr[kRows];
      const int rows = static_cast<int>(std::min<int64_t>(kRows, m1 - r));
      for (int i = 0; i < rows; ++i) xr[i] = x + (r + i) * k;
      if (rows == 2) {
        tile_row<2>(xr, w, k, c0, c1, k0, k1, y + r * n, n);
      } else {
        tile_row<1>(xr, w, k, c0, c1, k0, k1, y + r * n, n);
      }
    }
  }
}

}  // namespace

void linear(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n,
            int64_t k) {
  if (m <= 0 || n <= 0) return;
  const int64_t mb = (m + kBlockM - 1) / kBlockM;
  const int64_t nb = (n + kBlockN - 1) / kBlockN;
  // Tasks run column blocks fastest so that neighbouring tasks share the same rows of x.
  parallel_for(0, mb * nb, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t bi = t / nb, bj = t % nb;
      block(x, w, bias, y, n, k, bi * kBlockM, std::min(m, (bi + 1) * kBlockM), bj * kBlockN,
            std::min(n, (bj + 1) * kBlockN));
    }
  });
}

}  // namespace vamba::kernels::reference
