// Linear layer, PyTorch layout: y = x · Wᵀ + b.
#pragma once

#include <cstdint>

namespace vamba::kernels::reference {

// x: (m, k) row-major; w: (n, k) row-major (nn.Linear.weight); bias: (n) or nullptr; y: (m, n).
// fp32 in and out, fp32 accumulation in four interleaved partial sums per dot product (the order
// differs from a GEMM library's, well inside 1e-5 relative for the widths we use). y must not alias
// x or w. Blocks of y are split over threads; a row's values do not depend on m (exact for pieces).
void linear(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n,
            int64_t k);

}  // namespace vamba::kernels::reference
