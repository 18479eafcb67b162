// The resolved arguments of the SSD kernels and the helpers they share (internal to kernels/ssd).
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/ssd/ssd.h"

namespace vamba::kernels::ssd_detail {

struct SsdArgs {
  SsdParams p;
  int64_t nchunks;
  int64_t padded_len;  // nchunks · Q
  int heads_per_group;
  // Workspace (chunked path):
  float* dt;      // (H, padded_len): processed dt, 0 past L
  float* dA_cs;   // (H, padded_len): cumulative sum of dt·A within each chunk
  float* cb;      // (nchunks, G, Q, Q): C·Bᵀ (lower block triangle only)
  float* states;  // (nchunks, H, P, N): each chunk's own final state (from zero), fp32
  // (nchunks, H, P, N): the state entering each chunk, computed in fp32 and stored as the bf16 the
  // scan's tensor cores read (half the bytes of fp32).
  __nv_bfloat16* states_in;
};

__device__ __forceinline__ float ssd_load_dt(const SsdParams& p, int64_t t, int h) {
  const int64_t i = t * p.dt_token_stride + h;
  float v = p.dt_is_bf16 ? __bfloat162float(static_cast<const __nv_bfloat16*>(p.dt)[i])
                         : static_cast<const float*>(p.dt)[i];
  if (p.dt_bias != nullptr) v += p.dt_bias[h];
  if (p.dt_softplus) v = v > 20.0f ? v : log1pf(expf(v));  // PyTorch's softplus threshold
  return fminf(fmaxf(v, p.dt_min), p.dt_max);
}

// Smem row stride for a bf16 tile of `cols` columns: padded by 16 bytes so that the rows touched
// by one fragment load fall in different banks, and still 16-byte aligned for vector stores.
constexpr int padded_ld(int cols) { return cols + 8; }

cudaError_t launch_ssd_cumsum(const SsdArgs& a, cudaStream_t stream);
cudaError_t launch_ssd_bmm(const SsdArgs& a, bool ldmatrix, cudaStream_t stream);
cudaError_t launch_ssd_chunk_state(const SsdArgs& a, bool ldmatrix, cudaStream_t stream);
cudaError_t launch_ssd_state_passing(const SsdArgs& a, cudaStream_t stream);
// The scan stage: several heads per block (ssd_chunk_scan_heads.cu), or the per-head kernel
// (ssd_chunk_scan.cu) when a.p.impl is kChunkedPerHead.
cudaError_t launch_ssd_chunk_scan(const SsdArgs& a, bool ldmatrix, cudaStream_t stream);
cudaError_t launch_ssd_chunk_scan_per_head(const SsdArgs& a, bool ldmatrix, cudaStream_t stream);
cudaError_t launch_ssd_recurrent(const SsdParams& p, cudaStream_t stream);

// The (P, N) pairs the chunked kernels are instantiated for: the 7B (64, 128) and the tiny model
// (32, 16).
inline bool ssd_chunked_shape_supported(int P, int N) {
  return (P == 64 && N == 128) || (P == 32 && N == 16);
}

}  // namespace vamba::kernels::ssd_detail
