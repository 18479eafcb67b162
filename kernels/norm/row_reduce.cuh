// Sums across the threads of one row of a 2-D block: blockDim.x threads (a multiple of 32, at most
// 512) share a row, blockDim.y rows share the block. Used by the row-wise norms.
#pragma once

#include <cuda_runtime.h>

namespace vamba::kernels {

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Every thread of the block must call this (it contains barriers when a row spans several warps);
// each gets the total of its row. `smem` holds one float per warp of the block (at most 16).
// The summation order is fixed, so results are bitwise reproducible.
__device__ __forceinline__ float row_sum(float v, float* smem) {
  v = warp_sum(v);
  if (blockDim.x == 32) return v;  // uniform across the block: no barrier needed
  const int warps_per_row = blockDim.x / 32;
  float* mine = smem + threadIdx.y * warps_per_row;
  __syncthreads();  // an earlier call may still be reading smem
  if (threadIdx.x % 32 == 0) mine[threadIdx.x / 32] = v;
  __syncthreads();
  float total = 0.0f;
  for (int i = 0; i < warps_per_row; ++i) total += mine[i];
  return total;
}

}  // namespace vamba::kernels
