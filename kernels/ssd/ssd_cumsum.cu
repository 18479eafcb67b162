// Stage 1 of the chunked scan: processed dt (softplus, bias and clamp fused here) and the inclusive
// cumulative sum of dt·A inside each chunk, both fp32. Positions past L get dt = 0, so they add
// nothing to any state and the cumsum stays flat: the chunk's last entry is its total decay.
#include "kernels/common/cuda_check.cuh"
#include "kernels/ssd/ssd_args.cuh"

namespace vamba::kernels::ssd_detail {
namespace {

constexpr int kThreads = 256;  // ≥ chunk_size

__global__ void __launch_bounds__(kThreads) ssd_cumsum_kernel(const SsdArgs a) {
  __shared__ float warp_sums[kThreads / 32];
  const int64_t c = blockIdx.x;
  const int h = blockIdx.y;
  const int l = threadIdx.x, lane = l & 31, warp = l >> 5;
  const int Q = a.p.chunk_size;
  const int64_t t = c * Q + l;
  const float dt = (l < Q && t < a.p.length) ? ssd_load_dt(a.p, t, h) : 0.0f;
  float v = dt * a.p.A[h];
  // Inclusive scan: within the warp, then over warp totals.
#pragma unroll
  for (int o = 1; o < 32; o <<= 1) {
    const float u = __shfl_up_sync(0xffffffffu, v, o);
    if (lane >= o) v += u;
  }
  if (lane == 31) warp_sums[warp] = v;
  __syncthreads();
  float prefix = 0.0f;
  for (int w = 0; w < warp; ++w) prefix += warp_sums[w];
  v += prefix;
  if (l < Q) {
    const int64_t i = static_cast<int64_t>(h) * a.padded_len + t;
    a.dt[i] = dt;
    a.dA_cs[i] = v;
  }
}

}  // namespace

cudaError_t launch_ssd_cumsum(const SsdArgs& a, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(a.nchunks), static_cast<unsigned>(a.p.nheads));
  ssd_cumsum_kernel<<<grid, kThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace vamba::kernels::ssd_detail
