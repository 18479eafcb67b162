// Mamba's causal depthwise conv1d over time (the xBC branch of the Mamba-2 mixer), with bias and an
// optional SiLU, in a token-major layout: channels are contiguous, as the in_proj GEMM writes them.
//
// The carried state is the last (width − 1) inputs, oldest first: state (width − 1, channels). It
// is exactly what the next call needs to continue the sequence, so a long video fed in pieces gives
// the same result as fed at once.
#pragma once

#include <cstdint>

namespace vamba::kernels::reference {

struct Conv1dParams {
  int64_t length = 0;    // L: time steps in this call
  int64_t channels = 0;  // C
  int64_t width = 0;     // W: kernel width (d_conv, 4)
  bool silu = true;      // apply SiLU after the bias
};

// x: (L, C); w: (C, W) (conv1d.weight (C, 1, W) squeezed; w[c][W−1] multiplies the current step);
// bias: (C) or nullptr; initial_state: (W − 1, C) or nullptr (zeros: the sequence starts here);
// y: (L, C), must not alias x; final_state: (W − 1, C) or nullptr, may alias initial_state.
//   y[t][c] = act(bias[c] + Σ_{j<W} w[c][j] · x̃[t − (W − 1) + j][c])
// where x̃ is x preceded by the initial state.
void causal_conv1d(const float* x, const float* w, const float* bias, const float* initial_state,
                   float* y, float* final_state, const Conv1dParams& p);

// One step: x, y: (C); state: (W − 1, C), updated in place (shifted by one, x appended).
// Identical to causal_conv1d with L = 1 and final_state = initial_state = state.
void causal_conv1d_update(const float* x, const float* w, const float* bias, float* state, float* y,
                          const Conv1dParams& p);

}  // namespace vamba::kernels::reference
