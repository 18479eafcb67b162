// The plain attention kernel: one warp per (query token, head), lanes split the head dimension,
// keys visited one by one with an fp32 online softmax. No tensor cores and no tiling: slow, but
// short enough to check by eye; it cross-checks the flash kernel on the device and serves any
// head_dim up to 128.
#include <cuda_bf16.h>
#include <math_constants.h>

#include "kernels/attention/flash_args.h"
#include "kernels/common/cuda_check.cuh"

namespace vamba::kernels::attention_detail {
namespace {

constexpr int kMaxPerLane = 4;  // head_dim ≤ 128

__global__ void __launch_bounds__(128) attention_simple_kernel(const FlashArgs a) {
  const int lane = threadIdx.x & 31;
  const int64_t wid = static_cast<int64_t>(blockIdx.x) * 4 + (threadIdx.x >> 5);
  if (wid >= a.q_len * a.num_heads) return;
  const int64_t qi = wid / a.num_heads;  // global query row
  const int head = static_cast<int>(wid % a.num_heads);
  const int kvh = head / a.group;

  int64_t q_begin = 0, k_begin = 0, kv_len = a.kv_len;
  if (a.cu_seqlens_q != nullptr) {  // the segment holding qi: last s with cu[s] <= qi
    int64_t lo = 0, hi = a.num_segments - 1;
    while (lo < hi) {
      const int64_t mid = (lo + hi + 1) / 2;
      if (a.cu_seqlens_q[mid] <= qi)
        lo = mid;
      else
        hi = mid - 1;
    }
    q_begin = a.cu_seqlens_q[lo];
    k_begin = a.cu_seqlens_k[lo];
    kv_len = a.cu_seqlens_k[lo + 1] - k_begin;
  }
  const int64_t i = qi - q_begin;
  int64_t k_end = kv_len;
  const int64_t offset = a.q_offset + q_begin - k_begin;  // local key j visible iff j <= i + offset
  if (a.causal && i + offset + 1 < k_end) k_end = i + offset + 1;

  const auto* q =
      static_cast<const __nv_bfloat16*>(a.q) + qi * a.q_token_stride + head * a.q_head_stride;
  const auto* k =
      static_cast<const __nv_bfloat16*>(a.k) + k_begin * a.k_token_stride + kvh * a.k_head_stride;
  const auto* v =
      static_cast<const __nv_bfloat16*>(a.v) + k_begin * a.v_token_stride + kvh * a.v_head_stride;
  float qv[kMaxPerLane], acc[kMaxPerLane];
#pragma unroll
  for (int j = 0; j < kMaxPerLane; ++j) {
    const int d = lane + 32 * j;
    qv[j] = d < a.head_dim ? __bfloat162float(q[d]) : 0.0f;
    acc[j] = 0.0f;
  }
  float m = -CUDART_INF_F, l = 0.0f;
  for (int64_t key = 0; key < k_end; ++key) {
    const __nv_bfloat16* kr = k + key * a.k_token_stride;
    float dot = 0.0f;
#pragma unroll
    for (int j = 0; j < kMaxPerLane; ++j) {
      const int d = lane + 32 * j;
      if (d < a.head_dim) dot += qv[j] * __bfloat162float(kr[d]);
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
    const float s = dot * a.scale_log2;
    const float m_new = fmaxf(m, s);
    const float alpha = exp2f(m - m_new);  // 0 on the first key (m = −inf)
    const float p = exp2f(s - m_new);
    l = l * alpha + p;
    const __nv_bfloat16* vr = v + key * a.v_token_stride;
#pragma unroll
    for (int j = 0; j < kMaxPerLane; ++j) {
      const int d = lane + 32 * j;
      acc[j] = acc[j] * alpha + (d < a.head_dim ? p * __bfloat162float(vr[d]) : 0.0f);
    }
    m = m_new;
  }
  const float inv = l > 0.0f ? 1.0f / l : 0.0f;
  auto* o = static_cast<__nv_bfloat16*>(a.o) + qi * a.o_token_stride + head * a.o_head_stride;
#pragma unroll
  for (int j = 0; j < kMaxPerLane; ++j) {
    const int d = lane + 32 * j;
    if (d < a.head_dim) o[d] = __float2bfloat16_rn(acc[j] * inv);
  }
}

}  // namespace

cudaError_t launch_attention_simple(const FlashArgs& a, cudaStream_t stream) {
  const int64_t warps = a.q_len * a.num_heads;
  if (warps == 0) return cudaSuccess;
  attention_simple_kernel<<<static_cast<unsigned>((warps + 3) / 4), 128, 0, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace vamba::kernels::attention_detail
