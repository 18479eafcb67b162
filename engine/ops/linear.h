// Tensor-level linear layer (GEMM with optional bias), PyTorch layout: y = x · wᵀ + bias.
#pragma once

#include <vector>

#include "engine/ops/common.h"

namespace vamba::ops {

// x: (..., K) activations; w: (N, K) weight; bias: (N) weight dtype, or undefined.
// y: (..., N): activation dtype; on CUDA it may instead be a preallocated f32 tensor (logits).
// CPU: all f32. CUDA: x, w, bias bf16; accumulate in f32.
Status linear(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor* y,
              const Stream& stream);

// One product over a weight whose rows are several layers' weights one after another (the fused
// q, k, v projections): w (N, K) with N = Σ widths, bias (N) or undefined; ys[s] (..., widths[s])
// receives x · w[rows of s]ᵀ + bias[s]. Outputs as in linear (allocated when undefined). CUDA runs
// decode shapes (≤ 16 rows of x) as one launch with three outputs; otherwise one product per part.
Status linear_split(const Tensor& x, const Tensor& w, const Tensor& bias,
                    const std::vector<int64_t>& widths, std::vector<Tensor>* ys,
                    const Stream& stream);

// The SwiGLU MLP's first half: y = silu(x · w_gateᵀ) ⊙ (x · w_upᵀ); w_gate, w_up (N, K), no bias;
// y (..., N). CUDA runs decode shapes as one fused product; otherwise two products and silu_mul.
Status linear_swiglu(const Tensor& x, const Tensor& w_gate, const Tensor& w_up, Tensor* y,
                     const Stream& stream);

// A Vamba layer's residual update from its two attention outputs:
//   h += alpha · (x · wᵀ) + alpha2 · (x2 · w2ᵀ)
// (x, x2 (..., K); w, w2 (N, K), no bias; h (..., N) in place), i.e. the self- and cross-attention
// output projections and residual_blend. CUDA runs decode shapes as one fused product; otherwise
// two products and residual_blend.
Status linear_pair_residual(const Tensor& x, const Tensor& w, const Tensor& x2, const Tensor& w2,
                            float alpha, float alpha2, Tensor* h, const Stream& stream);

}  // namespace vamba::ops
