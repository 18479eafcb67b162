// decode_rows_attention: one query per sequence, keys streamed on CUDA cores (see decode_rows.h).
//
// Grid (split, kv head, sequence); 4 warps per block. Each lane holds head_dim / 32 consecutive
// elements of every query head of the KV group (pre-scaled by scale · log2 e, so softmax runs in
// exp2), and of their fp32 output accumulators. A warp takes every 4th key of the block's range,
// four keys at a time: it loads their K and V rows (one coalesced 64–256-byte row each), reduces
// the G dot products across the warp, and updates each head's running max, sum and output. The
// four warps then merge through shared memory; with several splits a second kernel merges the
// splits by their log-sum-exp.
#include "kernels/attention/decode_rows.h"

#include <cuda_bf16.h>

#include <cmath>
#include <cstdint>

#include "kernels/common/cuda_check.cuh"
#include "kernels/common/device_query.cuh"
#include "kernels/common/pdl.cuh"

namespace vamba::kernels {
namespace {

using bf16 = __nv_bfloat16;

constexpr int kWarps = 4;
constexpr int kUnroll = 4;  // keys in flight per warp
// Each warp's keys form one dependency chain (a running max and sum per head), so short ranges
// per block matter more than the combine's extra traffic: splits keep ≥ 64 keys (one unrolled
// iteration per warp).
constexpr int kMinKeysPerSplit = 16;
constexpr float kLog2e = 1.4426950408889634f;

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// VEC consecutive bf16 of a row, as floats, in one load (2·VEC bytes; the pointers are 8-byte
// aligned and every lane's offset is a multiple of VEC elements).
template <int VEC>
struct alignas(2 * VEC) Bf16x {
  bf16 v[VEC];
};
template <int VEC>
__device__ __forceinline__ void load_row(const bf16* p, float (&out)[VEC]) {
  const Bf16x<VEC> raw = *reinterpret_cast<const Bf16x<VEC>*>(p);
#pragma unroll
  for (int i = 0; i < VEC; ++i) out[i] = __bfloat162float(raw.v[i]);
}

template <int VEC>
__device__ __forceinline__ void store_row(bf16* p, const float (&in)[VEC]) {
#pragma unroll
  for (int i = 0; i < VEC; ++i) p[i] = __float2bfloat16_rn(in[i]);
}

// G: compile-time bound on the query heads per KV head (the runtime group g ≤ G).
template <int D, int G>
__global__ void __launch_bounds__(kWarps * 32)
    decode_rows_kernel(const DecodeRowsParams p, int64_t keys_per_split, float* part_o,
                       float* part_lse) {
  pdl_launch_dependents();  // the next decode kernel may start its weight loads
  constexpr int VEC = D / 32;
  const int split = blockIdx.x;
  const int kvh = blockIdx.y;
  const int b = blockIdx.z;
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int g = p.num_heads / p.num_kv_heads;
  const int64_t len = p.kv_len[b];
  const int64_t begin = split * keys_per_split;
  const int64_t end = begin + keys_per_split < len ? begin + keys_per_split : len;
  const int64_t row_stride = static_cast<int64_t>(p.num_kv_heads) * D;
  const bf16* kbase = static_cast<const bf16*>(p.k[b]) + kvh * D + lane * VEC;
  const bf16* vbase = static_cast<const bf16*>(p.v[b]) + kvh * D + lane * VEC;
  const bool append = p.new_k != nullptr;
  const int64_t last = len - 1;
  const bf16* new_k = append ? static_cast<const bf16*>(p.new_k) +
                                   (static_cast<int64_t>(b) * p.num_kv_heads + kvh) * D + lane * VEC
                             : nullptr;
  const bf16* new_v = append ? static_cast<const bf16*>(p.new_v) +
                                   (static_cast<int64_t>(b) * p.num_kv_heads + kvh) * D + lane * VEC
                             : nullptr;

  float q[G][VEC];
  float acc[G][VEC];
  float m[G], l[G];
  const float qscale = p.scale * kLog2e;
#pragma unroll
  for (int h = 0; h < G; ++h) {
    const int head = kvh * g + (h < g ? h : 0);
    load_row<VEC>(static_cast<const bf16*>(p.q) +
                      (static_cast<int64_t>(b) * p.num_heads + head) * D + lane * VEC,
                  q[h]);
#pragma unroll
    for (int i = 0; i < VEC; ++i) {
      q[h][i] *= qscale;
      acc[h][i] = 0.0f;
    }
    m[h] = -INFINITY;
    l[h] = 0.0f;
  }

  for (int64_t base = begin + warp; base < end; base += kWarps * kUnroll) {
    float kr[kUnroll][VEC], vr[kUnroll][VEC];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t j = base + u * kWarps;
      if (j < end) {
        if (append && j == last) {
          load_row<VEC>(new_k, kr[u]);
          load_row<VEC>(new_v, vr[u]);
          // This block is the only one whose range holds the last key of (b, kvh): it stores the
          // new row into the cache for the next steps.
          store_row<VEC>(const_cast<bf16*>(kbase) + j * row_stride, kr[u]);
          store_row<VEC>(const_cast<bf16*>(vbase) + j * row_stride, vr[u]);
        } else {
          load_row<VEC>(kbase + j * row_stride, kr[u]);
          load_row<VEC>(vbase + j * row_stride, vr[u]);
        }
      }
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      if (base + u * kWarps >= end) break;  // warp-uniform
#pragma unroll
      for (int h = 0; h < G; ++h) {
        if (h >= g) break;
        float s = 0.0f;
#pragma unroll
        for (int i = 0; i < VEC; ++i) s += q[h][i] * kr[u][i];
        s = warp_sum(s);  // every lane holds the score: the branch below is warp-uniform
        if (s > m[h]) {
          // A new maximum (rare after the first keys): rescale what was summed so far.
          const float corr = exp2f(m[h] - s);  // 0 on the first key (m = −inf)
          l[h] *= corr;
#pragma unroll
          for (int i = 0; i < VEC; ++i) acc[h][i] *= corr;
          m[h] = s;
        }
        const float pr = exp2f(s - m[h]);
        l[h] += pr;
#pragma unroll
        for (int i = 0; i < VEC; ++i) acc[h][i] += pr * vr[u][i];
      }
    }
  }

  // Merge the warps: each writes its state, then thread t combines output element t of each head.
  // (flat arrays: [warp][head] and [warp][head][d])
  __shared__ float sm_m[kWarps * G];
  __shared__ float sm_l[kWarps * G];
  __shared__ float sm_o[kWarps * G * D];
#pragma unroll
  for (int h = 0; h < G; ++h) {
    if (lane == 0) {
      sm_m[warp * G + h] = m[h];
      sm_l[warp * G + h] = l[h];
    }
#pragma unroll
    for (int i = 0; i < VEC; ++i) sm_o[(warp * G + h) * D + lane * VEC + i] = acc[h][i];
  }
  __syncthreads();
  for (int e = threadIdx.x; e < g * D; e += kWarps * 32) {
    const int h = e / D, d = e % D;
    float mx = -INFINITY;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) mx = fmaxf(mx, sm_m[w * G + h]);
    float sum = 0.0f, out = 0.0f;
    if (mx != -INFINITY) {
#pragma unroll
      for (int w = 0; w < kWarps; ++w) {
        const float f = exp2f(sm_m[w * G + h] - mx);
        sum += sm_l[w * G + h] * f;
        out += sm_o[(w * G + h) * D + d] * f;
      }
    }
    const int head = kvh * g + h;
    const int64_t row = static_cast<int64_t>(b) * p.num_heads + head;
    if (part_o == nullptr) {  // one split: the final result
      static_cast<bf16*>(p.o)[row * D + d] = __float2bfloat16_rn(sum > 0.0f ? out / sum : 0.0f);
    } else {
      part_o[(row * p.num_splits + split) * D + d] = sum > 0.0f ? out / sum : 0.0f;
      if (d == 0) part_lse[row * p.num_splits + split] = sum > 0.0f ? mx + log2f(sum) : -INFINITY;
    }
  }
}

// Merges the splits of one (sequence, query head) by their log-sum-exp (base 2).
__global__ void decode_rows_combine(const DecodeRowsParams p, int head_dim, const float* part_o,
                                    const float* part_lse) {
  pdl_launch_dependents();  // the next decode kernel may start its weight loads
  const int64_t row = blockIdx.x;
  const int splits = p.num_splits;
  const float* lse = part_lse + row * splits;
  float mx = -INFINITY;
  for (int s = 0; s < splits; ++s) mx = fmaxf(mx, lse[s]);
  for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
    float sum = 0.0f, out = 0.0f;
    for (int s = 0; s < splits; ++s) {
      if (lse[s] == -INFINITY) continue;
      const float w = exp2f(lse[s] - mx);
      sum += w;
      out += w * part_o[(row * splits + s) * head_dim + d];
    }
    static_cast<bf16*>(p.o)[row * head_dim + d] =
        __float2bfloat16_rn(sum > 0.0f ? out / sum : 0.0f);
  }
}

int64_t max_len(const DecodeRowsParams& p) {
  int64_t m = 0;
  for (int b = 0; b < p.batch; ++b) m = p.kv_len[b] > m ? p.kv_len[b] : m;
  return m;
}

size_t align256(size_t x) { return (x + 255) / 256 * 256; }

size_t workspace_for(const DecodeRowsParams& p, int splits) {
  if (splits <= 1) return 0;
  const size_t rows = static_cast<size_t>(p.batch) * p.num_heads;
  return align256(rows * splits * p.head_dim * sizeof(float)) +
         align256(rows * splits * sizeof(float));
}

int64_t keys_per_split(const DecodeRowsParams& p) {
  const int64_t step = kWarps * kUnroll;
  return ceil_div(ceil_div(max_len(p), p.num_splits), step) * step;
}

template <int D, int G>
void launch(const DecodeRowsParams& p, float* part_o, float* part_lse, cudaStream_t stream) {
  const dim3 grid(p.num_splits, p.num_kv_heads, p.batch);
  decode_rows_kernel<D, G>
      <<<grid, kWarps * 32, 0, stream>>>(p, keys_per_split(p), part_o, part_lse);
}

template <int D>
void launch_group(const DecodeRowsParams& p, float* part_o, float* part_lse, cudaStream_t stream) {
  const int g = p.num_heads / p.num_kv_heads;
  if (g <= 1) {
    launch<D, 1>(p, part_o, part_lse, stream);
  } else if (g <= 2) {
    launch<D, 2>(p, part_o, part_lse, stream);
  } else if (g <= 4) {
    launch<D, 4>(p, part_o, part_lse, stream);
  } else {
    launch<D, 8>(p, part_o, part_lse, stream);
  }
}

bool aligned8(const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 8 == 0; }

}  // namespace

const char* decode_rows_can_implement(const DecodeRowsParams& p) {
  if (p.q == nullptr || p.o == nullptr) return "decode_rows: null q or o";
  if (p.batch < 1 || p.batch > kDecodeRowsMaxBatch) return "decode_rows: batch outside [1, 16]";
  if (p.head_dim != 32 && p.head_dim != 64 && p.head_dim != 128) {
    return "decode_rows: head_dim must be 32, 64 or 128";
  }
  if (p.num_kv_heads < 1 || p.num_kv_heads > 65535 || p.num_heads % p.num_kv_heads != 0) {
    return "decode_rows: num_heads must be a multiple of num_kv_heads";
  }
  if (p.num_heads / p.num_kv_heads > 8) return "decode_rows: at most 8 query heads per kv head";
  if ((p.new_k == nullptr) != (p.new_v == nullptr)) return "decode_rows: new_k without new_v";
  if (!(p.scale > 0.0f) || !std::isfinite(p.scale)) return "decode_rows: scale must be positive";
  if (p.num_splits < 0 || p.num_splits > 65535) return "decode_rows: num_splits out of range";
  for (int b = 0; b < p.batch; ++b) {
    if (p.k[b] == nullptr || p.v[b] == nullptr) return "decode_rows: null k or v";
    if (p.kv_len[b] < 1) return "decode_rows: every sequence needs at least one key";
    if (!aligned8(p.k[b]) || !aligned8(p.v[b])) return "decode_rows: k, v must be 8-byte aligned";
  }
  return nullptr;
}

DecodeRowsPlan decode_rows_plan(const DecodeRowsParams& p) {
  DecodeRowsPlan plan;
  int64_t splits = p.num_splits;
  if (splits <= 0) {
    const int64_t blocks = static_cast<int64_t>(p.batch) * p.num_kv_heads;
    const int64_t target = 4LL * multiprocessor_count();
    splits = ceil_div(target, blocks);
    const int64_t by_length = max_len(p) / kMinKeysPerSplit;
    if (splits > by_length) splits = by_length;
    if (splits > 1024) splits = 1024;
    if (splits < 1) splits = 1;
  }
  plan.num_splits = static_cast<int>(splits);
  plan.workspace_bytes = workspace_for(p, plan.num_splits);
  return plan;
}

cudaError_t decode_rows_attention(const DecodeRowsParams& params, cudaStream_t stream) {
  if (decode_rows_can_implement(params) != nullptr) return cudaErrorInvalidValue;
  DecodeRowsParams p = params;
  if (p.num_splits == 0) p.num_splits = decode_rows_plan(p).num_splits;
  // No empty trailing splits for the longest sequence (shorter ones may have some; they are
  // skipped by the combine).
  p.num_splits = static_cast<int>(ceil_div(max_len(p), keys_per_split(p)));
  float* part_o = nullptr;
  float* part_lse = nullptr;
  if (p.num_splits > 1) {
    const size_t need = workspace_for(p, p.num_splits);
    if (p.workspace == nullptr || p.workspace_bytes < need) return cudaErrorInvalidValue;
    const size_t rows = static_cast<size_t>(p.batch) * p.num_heads;
    part_o = static_cast<float*>(p.workspace);
    part_lse = reinterpret_cast<float*>(static_cast<char*>(p.workspace) +
                                        align256(rows * p.num_splits * p.head_dim * sizeof(float)));
  }
  switch (p.head_dim) {
    case 32:
      launch_group<32>(p, part_o, part_lse, stream);
      break;
    case 64:
      launch_group<64>(p, part_o, part_lse, stream);
      break;
    default:
      launch_group<128>(p, part_o, part_lse, stream);
      break;
  }
  VAMBA_CUDA_LAUNCH_CHECK();
  if (p.num_splits > 1) {
    decode_rows_combine<<<p.batch * p.num_heads, p.head_dim, 0, stream>>>(p, p.head_dim, part_o,
                                                                          part_lse);
    VAMBA_CUDA_LAUNCH_CHECK();
  }
  return cudaSuccess;
}

}  // namespace vamba::kernels
