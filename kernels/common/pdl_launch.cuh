// launch_dependent(): a kernel launch that may overlap the stream's previous kernel (programmatic
// dependent launch; see pdl.cuh for what the launched kernel must do). VAMBA_PDL=0 in the
// environment makes it a plain launch, for A/B timing.
#pragma once

#include <cuda_runtime.h>

#include <cstdlib>
#include <cstring>
#include <utility>

#include "kernels/common/pdl.cuh"

namespace vamba::kernels {

// Whether launch_dependent() asks for overlap: compute capability ≥ 9 and VAMBA_PDL not "0".
inline bool pdl_enabled() {
  static const bool enabled = [] {
    const char* env = std::getenv("VAMBA_PDL");
    if (env != nullptr && std::strcmp(env, "0") == 0) return false;
    int device = 0, major = 0;
    if (cudaGetDevice(&device) != cudaSuccess ||
        cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess) {
      return false;
    }
    return major >= 9;
  }();
  return enabled;
}

// Launches kernel<<<grid, block, smem, stream>>>(args) allowed to overlap the stream's previous
// kernel (see above); the kernel must call pdl_wait() before touching data written in the stream.
template <typename... KernelArgs, typename... Args>
cudaError_t launch_dependent(void (*kernel)(KernelArgs...), dim3 grid, dim3 block, size_t smem,
                             cudaStream_t stream, Args&&... args) {
#ifdef VAMBA_KERNEL_EMULATION
  kernel<<<grid, block, smem, stream>>>(args...);
  return cudaGetLastError();
#else
  if (!pdl_enabled()) {
    kernel<<<grid, block, smem, stream>>>(args...);
    return cudaGetLastError();
  }
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = smem;
  config.stream = stream;
  config.attrs = attr;
  config.numAttrs = 1;
  return cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...);
#endif
}

}  // namespace vamba::kernels
