// Merges key-split partials (flash-decoding): each split s left o_s = Σ p·v / Σ p over its keys and
// lse_s = log2 Σ 2^score (−inf when it saw no key). The exact softmax over all keys is
//   o = Σ_s 2^(lse_s − lse_max) · o_s / Σ_s 2^(lse_s − lse_max),
// computed in fp32, so 10^6 keys in 20 splits lose nothing beyond fp32 rounding.
#include <cuda_bf16.h>
#include <math_constants.h>

#include "kernels/attention/flash_args.h"
#include "kernels/common/cuda_check.cuh"

namespace vamba::kernels::attention_detail {
namespace {

// One warp per (kv head, packed row); lanes walk the splits, then the head dimension.
__global__ void __launch_bounds__(128) flash_combine_kernel(const FlashArgs a) {
  const int lane = threadIdx.x & 31;
  const int64_t rows = a.q_len * a.group;
  const int64_t wid = static_cast<int64_t>(blockIdx.x) * 4 + (threadIdx.x >> 5);
  if (wid >= rows * a.num_kv_heads) return;
  const int kvh = static_cast<int>(wid / rows);
  const int64_t row = wid % rows;
  const int64_t split_stride = static_cast<int64_t>(a.num_kv_heads) * rows;
  const float* lse = a.partial_lse + static_cast<int64_t>(kvh) * rows + row;
  const float kNegInf = -CUDART_INF_F;

  float mx = kNegInf;
  for (int s = lane; s < a.num_splits; s += 32) mx = fmaxf(mx, lse[s * split_stride]);
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
  float denom = 0.0f;
  if (mx != kNegInf) {
    for (int s = lane; s < a.num_splits; s += 32) denom += exp2f(lse[s * split_stride] - mx);
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) denom += __shfl_xor_sync(0xffffffffu, denom, o);
  const float inv = denom > 0.0f ? 1.0f / denom : 0.0f;

  const int64_t tok = row / a.group;
  const int head = kvh * a.group + static_cast<int>(row % a.group);
  __nv_bfloat16* dst =
      static_cast<__nv_bfloat16*>(a.o) + tok * a.o_token_stride + head * a.o_head_stride;
  const float* po = a.partial_o + (static_cast<int64_t>(kvh) * rows + row) * a.head_dim;
  const int64_t po_split_stride = split_stride * a.head_dim;
  for (int d = lane; d < a.head_dim; d += 32) {
    float sum = 0.0f;
    if (mx != kNegInf) {
      for (int s = 0; s < a.num_splits; ++s) {
        const float w = exp2f(lse[s * split_stride] - mx);  // 0 for an empty split (−inf)
        sum += w * po[s * po_split_stride + d];
      }
    }
    dst[d] = __float2bfloat16_rn(sum * inv);
  }
}

}  // namespace

cudaError_t launch_flash_combine(const FlashArgs& a, cudaStream_t stream) {
  const int64_t warps = a.q_len * a.group * a.num_kv_heads;
  if (warps == 0) return cudaSuccess;
  flash_combine_kernel<<<static_cast<unsigned>((warps + 3) / 4), 128, 0, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace vamba::kernels::attention_detail
