// Tensor-level elementwise ops. All tensors have the same shape, dtype (activation dtype) and
// device; outputs may be one of the inputs (in place).
#pragma once

#include "engine/ops/common.h"

namespace vamba::ops {

// SwiGLU: y = silu(gate) · up
Status silu_mul(const Tensor& gate, const Tensor& up, Tensor* y, const Stream& stream);
// y = x · sigmoid(1.702 x)
Status quick_gelu(const Tensor& x, Tensor* y, const Stream& stream);
// y = x · ½(1 + erf(x / √2))
Status gelu(const Tensor& x, Tensor* y, const Stream& stream);
// y = a + b
Status add(const Tensor& a, const Tensor& b, Tensor* y, const Stream& stream);
// h += alpha_s · s + alpha_c · c  (h, s, c: same shape). The decoder's blend of self- and
// cross-attention: alpha_s = alpha, alpha_c = 1 − alpha (alpha clamped to [0, 1] by the caller), or
// both 1 without alpha balancing.
Status residual_blend(Tensor* h, const Tensor& s, const Tensor& c, float alpha_s, float alpha_c,
                      const Stream& stream);
// Converts between f32 and bf16 (or copies when equal) on x's device. y: x's shape, `dtype`.
Status cast(const Tensor& x, DType dtype, Tensor* y, const Stream& stream);

}  // namespace vamba::ops
