#include "kernels/reference/conv1d.h"

#include <algorithm>
#include <vector>

#include "kernels/reference/math.h"
#include "kernels/reference/parallel.h"

namespace vamba::kernels::reference {

void causal_conv1d(const float* x, const float* w, const float* bias, const float* initial_state,
                   float* y, float* final_state, const Conv1dParams& p) {
  const int64_t L = p.length, C = p.channels, W = p.width, S = W - 1;
  // Input row t − S + j, reading the initial state (or zeros) before the first row of x.
  auto input = [&](int64_t row, int64_t c) -> float {
    if (row >= 0) return x[row * C + c];
    return initial_state ? initial_state[(row + S) * C + c] : 0.0f;
  };
  parallel_for(0, L, 64, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      for (int64_t c = 0; c < C; ++c) {
        float acc = bias ? bias[c] : 0.0f;
        for (int64_t j = 0; j < W; ++j) acc += w[c * W + j] * input(t - S + j, c);
        y[t * C + c] = p.silu ? silu(acc) : acc;
      }
    }
  });
  if (final_state) {
    // The last S inputs of x̃ (rows L − S … L − 1), gathered first since final_state may alias
    // initial_state.
    std::vector<float> tail(static_cast<size_t>(S * C));
    for (int64_t r = 0; r < S; ++r) {
      for (int64_t c = 0; c < C; ++c) tail[r * C + c] = input(L - S + r, c);
    }
    std::copy(tail.begin(), tail.end(), final_state);
  }
}

void causal_conv1d_update(const float* x, const float* w, const float* bias, float* state, float* y,
                          const Conv1dParams& p) {
  const int64_t C = p.channels, W = p.width, S = W - 1;
  for (int64_t c = 0; c < C; ++c) {
    float acc = bias ? bias[c] : 0.0f;
    for (int64_t j = 0; j < S; ++j) acc += w[c * W + j] * state[j * C + c];
    acc += w[c * W + S] * x[c];
    y[c] = p.silu ? silu(acc) : acc;
    for (int64_t j = 0; j + 1 < S; ++j) state[j * C + c] = state[(j + 1) * C + c];
    if (S > 0) state[(S - 1) * C + c] = x[c];
  }
}

}  // namespace vamba::kernels::reference
