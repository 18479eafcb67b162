// Element type conversion on the GPU (bf16 <-> f32), for moving inputs and results across dtypes.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace vamba::kernels {

cudaError_t cast_bf16_to_f32(const void* src, float* dst, int64_t n, cudaStream_t stream);
cudaError_t cast_f32_to_bf16(const float* src, void* dst, int64_t n, cudaStream_t stream);

}  // namespace vamba::kernels
