// Mamba's causal depthwise conv1d over time on the GPU (the xBC branch of the Mamba-2 mixer):
//   y[t][c] = act(bias[c] + Σ_{j<W} w[c][j] · x̃[t − (W − 1) + j][c]),  x̃ = initial_state ++ x,
// token-major (channels contiguous, read in place from the in_proj output through a row stride).
// bf16 activations and weights, fp32 arithmetic, fp32 carried state (the last W − 1 inputs, oldest
// first), so a long video fed in pieces equals one pass. CPU twin: kernels/reference/conv1d.h.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace vamba::kernels {

struct CausalConv1dParams {
  const void* x = nullptr;  // bf16 (L, C), rows x_row_stride elements apart
  int64_t x_row_stride = 0;
  const void* weight = nullptr;          // bf16 (C, W): conv1d.weight (C, 1, W) squeezed
  const void* bias = nullptr;            // bf16 (C) or nullptr
  const float* initial_state = nullptr;  // f32 (W − 1, C) or nullptr (zeros)
  void* y = nullptr;                     // bf16 (L, C), rows y_row_stride apart; must not overlap x
  int64_t y_row_stride = 0;
  float* final_state = nullptr;  // f32 (W − 1, C) or nullptr; may alias initial_state
  int64_t length = 0;            // L
  int64_t channels = 0;          // C
  int width = 4;                 // W, 2..4
  bool silu = true;
};

// Why the kernels cannot run p, or nullptr.
const char* causal_conv1d_can_implement(const CausalConv1dParams& p);

// The whole sequence (prefill, or one piece of a long video).
cudaError_t causal_conv1d(const CausalConv1dParams& p, cudaStream_t stream);

// One step (decode / streaming), length must be 1: x (C), y (C), and the state
// (p.initial_state == p.final_state, required) shifted in place.
cudaError_t causal_conv1d_update(const CausalConv1dParams& p, cudaStream_t stream);

}  // namespace vamba::kernels
