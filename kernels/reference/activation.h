// Elementwise activations and the small arithmetic the layers need (residual adds, the alpha
// blend). All take n elements, fp32; outputs may alias inputs.
#pragma once

#include <cstdint>

namespace vamba::kernels::reference {

// y = x · sigmoid(x)
void silu(const float* x, float* y, int64_t n);
// SwiGLU: y = silu(gate) · up
void silu_mul(const float* gate, const float* up, float* y, int64_t n);
// y = x · sigmoid(1.702 x) (CLIP's quick_gelu, the Qwen2-VL vision MLP)
void quick_gelu(const float* x, float* y, int64_t n);
// y = x · ½(1 + erf(x / √2)) (exact GELU, the Qwen2-VL merger)
void gelu(const float* x, float* y, int64_t n);
// y = a + b
void add(const float* a, const float* b, float* y, int64_t n);
// h += alpha_s · s + alpha_c · c  (the decoder's blend of self- and cross-attention outputs)
void residual_blend(float* h, const float* s, const float* c, float alpha_s, float alpha_c,
                    int64_t n);

}  // namespace vamba::kernels::reference
