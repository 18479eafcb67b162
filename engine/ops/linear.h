// Tensor-level linear layer (GEMM with optional bias), PyTorch layout: y = x · wᵀ + bias.
#pragma once

#include "engine/ops/common.h"

namespace vamba::ops {

// x: (..., K) activations; w: (N, K) weight; bias: (N) weight dtype, or undefined.
// y: (..., N): activation dtype; on CUDA it may instead be a preallocated f32 tensor (logits).
// CPU: all f32. CUDA: x, w, bias bf16; accumulate in f32.
Status linear(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor* y,
              const Stream& stream);

}  // namespace vamba::ops
