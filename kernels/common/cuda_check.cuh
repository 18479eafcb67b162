// Error handling inside kernels/: launchers return cudaError_t (kernels know nothing of the engine's
// Status); the engine turns it into a Status at the op boundary.
#pragma once

#include <cuda_runtime.h>

#define VAMBA_CUDA_TRY(expr)                      \
  do {                                            \
    cudaError_t vamba_err_ = (expr);              \
    if (vamba_err_ != cudaSuccess) return vamba_err_; \
  } while (0)

// After a <<<...>>> launch: the launch's own error (bad configuration, missing image).
#define VAMBA_CUDA_LAUNCH_CHECK() VAMBA_CUDA_TRY(cudaGetLastError())

namespace vamba::kernels {

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace vamba::kernels
