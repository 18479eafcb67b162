// fp8 e4m3 storage for cross-attention keys and values on the GPU (layout: engine/state/kv_store.h;
// CPU twin and the encoding rules: kernels/reference/kv_fp8.h). Sources and outputs are bf16.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace vamba::kernels {

// Appends n rows of src (n, heads, head_dim) bf16 at rows [start, start + n) of data, requantizing
// every block the rows touch (a partly filled first block included) with a fresh per-head scale.
// block × head_dim × 4 ≤ 48 KB (64 × 128 at 7B).
cudaError_t kv_fp8_append(const void* src, int64_t n, int64_t start, int64_t heads,
                          int64_t head_dim, int64_t block, uint8_t* data, float* scales,
                          cudaStream_t stream);

// out (rows, heads, head_dim) bf16 = data × block scale for rows [0, rows). head_dim % 8 == 0.
cudaError_t kv_fp8_dequantize(const uint8_t* data, const float* scales, int64_t rows, int64_t heads,
                              int64_t head_dim, int64_t block, void* out, cudaStream_t stream);

}  // namespace vamba::kernels
