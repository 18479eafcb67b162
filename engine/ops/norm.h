// Tensor-level normalisations. x, y: (..., dim) activation dtype; weights in the weight dtype.
#pragma once

#include "engine/ops/common.h"

namespace vamba::ops {

// y = x / sqrt(mean(x²) + eps) · w. w: (dim). y may be x itself.
Status rms_norm(const Tensor& x, const Tensor& w, float eps, Tensor* y, const Stream& stream);

// residual += x (in place), then y = rms_norm(residual) · w. residual, x: (..., dim) same shape.
// y must not be residual.
Status add_rms_norm(Tensor* residual, const Tensor& x, const Tensor& w, float eps, Tensor* y,
                    const Stream& stream);

// PyTorch LayerNorm: y = (x − mean) / sqrt(var + eps) · w + b. w: (dim); b: (dim) or undefined.
Status layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, float eps, Tensor* y,
                  const Stream& stream);

}  // namespace vamba::ops
