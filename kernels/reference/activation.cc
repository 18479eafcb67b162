#include "kernels/reference/activation.h"

#include <cmath>

#include "kernels/reference/math.h"

namespace vamba::kernels::reference {

void silu(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = reference::silu(x[i]);
}

void silu_mul(const float* gate, const float* up, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = reference::silu(gate[i]) * up[i];
}

void quick_gelu(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] / (1.0f + std::exp(-1.702f * x[i]));
}

void gelu(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    y[i] = static_cast<float>(0.5 * x[i] * (1.0 + std::erf(x[i] * 0.70710678118654752440)));
  }
}

void add(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void residual_blend(float* h, const float* s, const float* c, float alpha_s, float alpha_c,
                    int64_t n) {
  for (int64_t i = 0; i < n; ++i) h[i] = h[i] + alpha_s * s[i] + alpha_c * c[i];
}

}  // namespace vamba::kernels::reference
