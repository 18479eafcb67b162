// Merges key-split partials (flash-decoding): each split s left o_s = Σ p·v / Σ p over its keys and
// lse_s = log2 Σ 2^score (−inf when it saw no key). The exact softmax over all keys is
//   o = Σ_s 2^(lse_s − lse_max) · o_s / Σ_s 2^(lse_s − lse_max),
// computed in fp32, so 10^6 keys in 20 splits lose nothing beyond fp32 rounding.
#include <cuda_bf16.h>
#include <math_constants.h>

#include "kernels/attention/flash_args.h"
#include "kernels/common/cuda_check.cuh"
#include "kernels/common/pdl.cuh"

namespace vamba::kernels::attention_detail {
namespace {

constexpr int kCombineThreads = 128;

__device__ __forceinline__ float block_reduce(float v, bool is_max, float* smem) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float other = __shfl_xor_sync(0xffffffffu, v, o);
    v = is_max ? fmaxf(v, other) : v + other;
  }
  __syncthreads();  // an earlier reduction may still be reading smem
  if ((threadIdx.x & 31) == 0) smem[threadIdx.x >> 5] = v;
  __syncthreads();
  float r = smem[0];
  for (int w = 1; w < kCombineThreads / 32; ++w) r = is_max ? fmaxf(r, smem[w]) : r + smem[w];
  return r;
}

// One block per (kv head, packed row). The threads first reduce the splits' log-sum-exps to the
// maximum and the normaliser, then split into groups that each take every groups-th split over the
// whole head dimension in float4 pieces (independent loads in flight, not one split after another
// per lane), and the groups' sums meet in shared memory.
__global__ void __launch_bounds__(kCombineThreads) flash_combine_kernel(const FlashArgs a) {
  pdl_launch_dependents();  // the next decode kernel may start its weight loads
  __shared__ float s_red[kCombineThreads / 32];
  __shared__ float4 s_part[kCombineThreads];
  const int tid = threadIdx.x;
  const int64_t rows = a.q_len * a.group;
  const int kvh = static_cast<int>(blockIdx.x / rows);
  const int64_t row = blockIdx.x % rows;
  const int64_t split_stride = static_cast<int64_t>(a.num_kv_heads) * rows;
  const float* lse = a.partial_lse + static_cast<int64_t>(kvh) * rows + row;
  const float kNegInf = -CUDART_INF_F;

  float mx = kNegInf;
  for (int s = tid; s < a.num_splits; s += kCombineThreads) mx = fmaxf(mx, lse[s * split_stride]);
  mx = block_reduce(mx, true, s_red);
  float denom = 0.0f;
  if (mx != kNegInf) {
    for (int s = tid; s < a.num_splits; s += kCombineThreads)
      denom += exp2f(lse[s * split_stride] - mx);
  }
  denom = block_reduce(denom, false, s_red);
  const float inv = denom > 0.0f ? 1.0f / denom : 0.0f;

  const int vecs = a.head_dim / 4;             // float4 pieces of a row
  const int groups = kCombineThreads / vecs;   // splits taken side by side
  const int v = tid % vecs, grp = tid / vecs;  // threads past groups · vecs only wait
  const float4* po = reinterpret_cast<const float4*>(
      a.partial_o + (static_cast<int64_t>(kvh) * rows + row) * a.head_dim);
  const int64_t po_split_stride = split_stride * vecs;  // float4s
  float4 acc = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  if (mx != kNegInf && grp < groups) {
#pragma unroll 4
    for (int s = grp; s < a.num_splits; s += groups) {
      const float w = exp2f(lse[s * split_stride] - mx);  // 0 for an empty split (−inf)
      const float4 p = po[s * po_split_stride + v];
      acc.x += w * p.x;
      acc.y += w * p.y;
      acc.z += w * p.z;
      acc.w += w * p.w;
    }
  }
  s_part[tid] = acc;
  __syncthreads();
  if (grp != 0) return;
  for (int g = 1; g < groups; ++g) {
    const float4 p = s_part[g * vecs + v];
    acc.x += p.x;
    acc.y += p.y;
    acc.z += p.z;
    acc.w += p.w;
  }
  const int64_t tok = row / a.group;
  const int head = kvh * a.group + static_cast<int>(row % a.group);
  __nv_bfloat16* dst =
      static_cast<__nv_bfloat16*>(a.o) + tok * a.o_token_stride + head * a.o_head_stride + 4 * v;
  dst[0] = __float2bfloat16_rn(acc.x * inv);
  dst[1] = __float2bfloat16_rn(acc.y * inv);
  dst[2] = __float2bfloat16_rn(acc.z * inv);
  dst[3] = __float2bfloat16_rn(acc.w * inv);
}

}  // namespace

cudaError_t launch_flash_combine(const FlashArgs& a, cudaStream_t stream) {
  const int64_t blocks = a.q_len * a.group * a.num_kv_heads;
  if (blocks == 0) return cudaSuccess;
  // float4 pieces of the head dimension, at most one per thread (the flash and cross-decode
  // kernels take head_dim 32, 64, 80 or 128).
  if (a.head_dim % 4 != 0 || a.head_dim / 4 > kCombineThreads || blocks > 0x7fffffff) {
    return cudaErrorInvalidValue;
  }
  flash_combine_kernel<<<static_cast<unsigned>(blocks), kCombineThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace vamba::kernels::attention_detail
