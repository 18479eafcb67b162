#include "kernels/reference/norm.h"

#include <cmath>
#include <vector>

#include "kernels/reference/math.h"
#include "kernels/reference/parallel.h"

namespace vamba::kernels::reference {
namespace {

inline float inv_rms(const float* x, int64_t n, float eps) {
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  return static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
}

constexpr int64_t kRowGrain = 16;

}  // namespace

void rms_norm(const float* x, const float* w, float* y, int64_t rows, int64_t dim, float eps) {
  parallel_for(0, rows, kRowGrain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * dim;
      float* yr = y + r * dim;
      const float s = inv_rms(xr, dim, eps);
      for (int64_t i = 0; i < dim; ++i) yr[i] = (xr[i] * s) * w[i];
    }
  });
}

void add_rms_norm(float* residual, const float* x, const float* w, float* y, int64_t rows,
                  int64_t dim, float eps) {
  parallel_for(0, rows, kRowGrain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* hr = residual + r * dim;
      const float* xr = x + r * dim;
      for (int64_t i = 0; i < dim; ++i) hr[i] += xr[i];
      float* yr = y + r * dim;
      const float s = inv_rms(hr, dim, eps);
      for (int64_t i = 0; i < dim; ++i) yr[i] = (hr[i] * s) * w[i];
    }
  });
}

void layer_norm(const float* x, const float* w, const float* b, float* y, int64_t rows, int64_t dim,
                float eps) {
  parallel_for(0, rows, kRowGrain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * dim;
      float* yr = y + r * dim;
      double sum = 0.0;
      for (int64_t i = 0; i < dim; ++i) sum += xr[i];
      const double mean = sum / static_cast<double>(dim);
      double var = 0.0;
      for (int64_t i = 0; i < dim; ++i) var += (xr[i] - mean) * (xr[i] - mean);
      var /= static_cast<double>(dim);
      const float s = static_cast<float>(1.0 / std::sqrt(var + eps));
      const float mu = static_cast<float>(mean);
      for (int64_t i = 0; i < dim; ++i) yr[i] = (xr[i] - mu) * s * w[i] + (b ? b[i] : 0.0f);
    }
  });
}

void gated_rms_norm(const float* x, const float* z, const float* w, float* y, int64_t rows,
                    int64_t dim, int64_t group_size, bool norm_before_gate, float eps) {
  parallel_for(0, rows, kRowGrain, [&](int64_t r0, int64_t r1) {
    std::vector<float> g(static_cast<size_t>(dim));
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * dim;
      const float* zr = z ? z + r * dim : nullptr;
      float* yr = y + r * dim;
      for (int64_t i = 0; i < dim; ++i) {
        g[i] = (zr && !norm_before_gate) ? xr[i] * silu(zr[i]) : xr[i];
      }
      for (int64_t g0 = 0; g0 < dim; g0 += group_size) {
        const float s = inv_rms(g.data() + g0, group_size, eps);
        for (int64_t i = g0; i < g0 + group_size; ++i) {
          float v = g[i] * s * w[i];
          if (zr && norm_before_gate) v *= silu(zr[i]);
          yr[i] = v;
        }
      }
    }
  });
}

}  // namespace vamba::kernels::reference
