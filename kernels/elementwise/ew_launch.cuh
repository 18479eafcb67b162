// The launch skeleton of the elementwise kernels: a (rows × cols) bf16 view with row strides,
// visited in vectors of V elements. Blocks are 2-D (columns × rows) so short rows still fill a
// block, and both grid dimensions stride, so any row count and width fit (no integer division per
// element, which would cost as much as the memory traffic at these sizes).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/common/cuda_check.cuh"
#include "kernels/common/pdl.cuh"

namespace vamba::kernels::detail {

// op.template apply<V>(row, col) handles elements [col, col + V) of `row`.
template <int V, typename Op>
__global__ void __launch_bounds__(256)
    elementwise_kernel(const Op op, int64_t rows, int64_t nvec_row) {
  pdl_launch_dependents();  // the next decode kernel may start its weight loads
  for (int64_t r = blockIdx.y * int64_t{blockDim.y} + threadIdx.y; r < rows;
       r += int64_t{gridDim.y} * blockDim.y) {
    for (int64_t c = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; c < nvec_row;
         c += int64_t{gridDim.x} * blockDim.x) {
      op.template apply<V>(r, c * V);
    }
  }
}

template <int V, typename Op>
cudaError_t launch_elementwise(const Op& op, int64_t rows, int64_t cols, cudaStream_t stream) {
  if (rows == 0 || cols == 0) return cudaSuccess;
  const int64_t nvec = cols / V;
  int64_t bx = ceil_div(nvec, 32) * 32;
  bx = bx > 256 ? 256 : bx;
  const int64_t by = 256 / bx;
  int64_t gx = ceil_div(nvec, bx), gy = ceil_div(rows, by);
  // Enough blocks to fill the GPU many times over; the loops stride over the rest.
  gx = gx > (int64_t{1} << 20) ? (int64_t{1} << 20) : gx;
  gy = gy > 65535 ? 65535 : gy;
  elementwise_kernel<V>
      <<<dim3(static_cast<unsigned>(gx), static_cast<unsigned>(gy)),
         dim3(static_cast<unsigned>(bx), static_cast<unsigned>(by)), 0, stream>>>(op, rows, nvec);
  return cudaGetLastError();
}

}  // namespace vamba::kernels::detail
