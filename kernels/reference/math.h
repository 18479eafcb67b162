// Scalar helpers shared by the CPU reference kernels, written to match the CUDA kernels' formulas.
#pragma once

#include <cmath>

namespace vamba::kernels::reference {

inline float silu(float x) { return x / (1.0f + std::exp(-x)); }
// softplus as PyTorch computes it (linear above 20, where exp would only add rounding).
inline float softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

}  // namespace vamba::kernels::reference
