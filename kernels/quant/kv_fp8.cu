#include "kernels/quant/kv_fp8.h"

#include <cuda_bf16.h>
#include <cuda_fp8.h>

#include "kernels/common/cuda_check.cuh"

namespace vamba::kernels {
namespace {

constexpr int kAppendThreads = 256;
constexpr float kMax = 448.0f;

__device__ __forceinline__ float decode(uint8_t code) {
  const __half_raw h = __nv_cvt_fp8_to_halfraw(static_cast<__nv_fp8_storage_t>(code), __NV_E4M3);
  return __half2float(__half(h));
}

__device__ __forceinline__ uint8_t encode(float x) {
  // Round to nearest even, saturating to ±448 (the hardware conversion on sm_89+).
  return static_cast<uint8_t>(__nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3));
}

// One block per (token block, head): gathers the block's valid rows as floats in shared memory
// (old rows decoded with the old scale, new rows from src), reduces their absmax, then encodes.
__global__ void __launch_bounds__(kAppendThreads)
    append_kernel(const __nv_bfloat16* __restrict__ src, int64_t start, int64_t end, int heads,
                  int head_dim, int block, uint8_t* __restrict__ data, float* __restrict__ scales) {
  extern __shared__ float values[];  // (rows of this block, head_dim)
  __shared__ float warp_max[kAppendThreads / 32];
  const int64_t b = start / block + blockIdx.x;
  const int h = blockIdx.y;
  const int64_t r0 = b * block;
  const int64_t r1 = r0 + block < end ? r0 + block : end;
  const int n = static_cast<int>((r1 - r0) * head_dim);
  const int64_t row_elems = static_cast<int64_t>(heads) * head_dim;
  const float old_scale = scales[b * heads + h];

  float local = 0.0f;
  for (int k = threadIdx.x; k < n; k += kAppendThreads) {
    const int64_t r = r0 + k / head_dim;
    const int i = k % head_dim;
    const float v = r < start ? decode(data[r * row_elems + h * head_dim + i]) * old_scale
                              : __bfloat162float(src[(r - start) * row_elems + h * head_dim + i]);
    values[k] = v;
    local = fmaxf(local, fabsf(v));
  }
  for (int o = 16; o > 0; o >>= 1) local = fmaxf(local, __shfl_xor_sync(0xffffffffu, local, o));
  if ((threadIdx.x & 31) == 0) warp_max[threadIdx.x >> 5] = local;
  __syncthreads();
  float absmax = 0.0f;
#pragma unroll
  for (int w = 0; w < kAppendThreads / 32; ++w) absmax = fmaxf(absmax, warp_max[w]);
  const float scale = absmax > 0.0f ? absmax / kMax : 1.0f;
  // Divide, not multiply by a reciprocal: the CPU reference divides, and the codes must agree.
  for (int k = threadIdx.x; k < n; k += kAppendThreads) {
    const int64_t r = r0 + k / head_dim;
    data[r * row_elems + h * head_dim + k % head_dim] = encode(values[k] / scale);
  }
  if (threadIdx.x == 0) scales[b * heads + h] = scale;
}

// Eight codes per thread -> eight bf16 (one 16-byte store).
__global__ void dequantize_kernel(const uint2* __restrict__ data, const float* __restrict__ scales,
                                  int64_t groups, int heads, int head_dim, int block,
                                  uint4* __restrict__ out) {
  const int groups_per_head = head_dim / 8;
  for (int64_t g = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; g < groups;
       g += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t head_row = g / groups_per_head;  // row * heads + head
    const int64_t row = head_row / heads;
    const int h = static_cast<int>(head_row % heads);
    const float scale = scales[(row / block) * heads + h];
    const uint2 codes = data[g];
    const uint8_t* c = reinterpret_cast<const uint8_t*>(&codes);
    uint4 packed;
    __nv_bfloat162* o = reinterpret_cast<__nv_bfloat162*>(&packed);
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      o[j] = __floats2bfloat162_rn(decode(c[2 * j]) * scale, decode(c[2 * j + 1]) * scale);
    }
    out[g] = packed;
  }
}

}  // namespace

cudaError_t kv_fp8_append(const void* src, int64_t n, int64_t start, int64_t heads,
                          int64_t head_dim, int64_t block, uint8_t* data, float* scales,
                          cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  // The block's rows live in shared memory as floats: at most the default 48 KB.
  if (block <= 0 || block * head_dim * 4 > 48 * 1024) return cudaErrorInvalidValue;
  const int64_t end = start + n;
  const int64_t blocks = (end - 1) / block - start / block + 1;
  const dim3 grid(static_cast<unsigned>(blocks), static_cast<unsigned>(heads));
  const size_t smem = static_cast<size_t>(block * head_dim) * sizeof(float);
  append_kernel<<<grid, kAppendThreads, smem, stream>>>(
      static_cast<const __nv_bfloat16*>(src), start, end, static_cast<int>(heads),
      static_cast<int>(head_dim), static_cast<int>(block), data, scales);
  return cudaGetLastError();
}

cudaError_t kv_fp8_dequantize(const uint8_t* data, const float* scales, int64_t rows, int64_t heads,
                              int64_t head_dim, int64_t block, void* out, cudaStream_t stream) {
  if (rows <= 0) return cudaSuccess;
  if (head_dim % 8 != 0) return cudaErrorInvalidValue;
  const int64_t groups = rows * heads * head_dim / 8;
  const int threads = 256;
  const int64_t want = (groups + threads - 1) / threads;
  const unsigned grid = static_cast<unsigned>(want < 132 * 16 ? want : 132 * 16);
  dequantize_kernel<<<grid, threads, 0, stream>>>(
      reinterpret_cast<const uint2*>(data), scales, groups, static_cast<int>(heads),
      static_cast<int>(head_dim), static_cast<int>(block), static_cast<uint4*>(out));
  return cudaGetLastError();
}

}  // namespace vamba::kernels
