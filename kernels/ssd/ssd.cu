// ssd_scan: checks, workspace layout and the launch sequence of the chunked scan; the dt kernel.
#include "kernels/ssd/ssd.h"

#include "kernels/common/cuda_check.cuh"
#include "kernels/ssd/ssd_args.cuh"

namespace vamba::kernels {
namespace {

using ssd_detail::SsdArgs;

size_t align_up(size_t x) { return (x + 255) / 256 * 256; }

bool aligned(const void* p, uintptr_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

struct Layout {
  int64_t nchunks = 0, padded_len = 0;
  size_t dt = 0, cs = 0, cb = 0, states = 0, states_in = 0, total = 0;  // byte offsets
};

Layout layout_of(const SsdParams& p) {
  Layout l;
  const int64_t Q = p.chunk_size > 0 ? p.chunk_size : 1;
  l.nchunks = (p.length + Q - 1) / Q;
  l.padded_len = l.nchunks * Q;
  const size_t f = sizeof(float);
  l.dt = 0;
  l.cs = align_up(f * p.nheads * l.padded_len);
  l.cb = l.cs + align_up(f * p.nheads * l.padded_len);
  l.states = l.cb + align_up(f * l.nchunks * p.ngroups * Q * Q);
  l.states_in = l.states + align_up(f * l.nchunks * p.nheads * p.headdim * p.dstate);
  l.total = l.states_in + align_up(2 * l.nchunks * p.nheads * p.headdim * p.dstate);
  return l;
}

const char* common_checks(const SsdParams& p) {
  if (p.length < 0) return "ssd: negative length";
  if (p.nheads <= 0 || p.headdim <= 0 || p.ngroups <= 0 || p.dstate <= 0) {
    return "ssd: heads, headdim, groups and dstate must be positive";
  }
  if (p.nheads % p.ngroups != 0) return "ssd: ngroups must divide nheads";
  if (p.length > 0 && (!p.x || !p.B || !p.C || !p.dt || !p.A || !p.y)) {
    return "ssd: null tensor pointer";
  }
  if (p.dstate > 128) return "ssd: dstate above 128 is not supported";
  return nullptr;
}

const char* chunked_checks(const SsdParams& p) {
  if (!ssd_detail::ssd_chunked_shape_supported(p.headdim, p.dstate)) {
    return "ssd: the chunked scan is built for (headdim, dstate) = (64, 128) and (32, 16)";
  }
  if (p.chunk_size != 64 && p.chunk_size != 128 && p.chunk_size != 256) {
    return "ssd: chunk_size must be 64, 128 or 256";
  }
  if (!aligned(p.x, 16) || !aligned(p.B, 16) || !aligned(p.C, 16) || !aligned(p.y, 4)) {
    return "ssd: x, B, C must be 16-byte aligned and y 4-byte aligned";
  }
  if (p.x_token_stride % 8 != 0 || p.b_token_stride % 8 != 0 || p.c_token_stride % 8 != 0 ||
      p.y_token_stride % 2 != 0) {
    return "ssd: x, B, C token strides must be multiples of 8 elements and y's even";
  }
  if ((p.length + p.chunk_size - 1) / p.chunk_size > 65535) {
    return "ssd: too many chunks for one call (feed the sequence in pieces)";
  }
  return nullptr;
}

}  // namespace

SsdImpl ssd_resolve_impl(const SsdParams& p) {
  if (p.impl != SsdImpl::kAuto) return p.impl;
  if (p.length > 1 && common_checks(p) == nullptr && chunked_checks(p) == nullptr) {
    return SsdImpl::kChunked;
  }
  return SsdImpl::kRecurrent;
}

const char* ssd_can_implement(const SsdParams& p) {
  if (const char* why = common_checks(p)) return why;
  if (ssd_resolve_impl(p) == SsdImpl::kRecurrent) return nullptr;
  return chunked_checks(p);
}

size_t ssd_workspace_bytes(const SsdParams& p) {
  if (ssd_resolve_impl(p) == SsdImpl::kRecurrent || p.length == 0) return 0;
  return layout_of(p).total;
}

cudaError_t ssd_scan(const SsdParams& p, cudaStream_t stream) {
  if (ssd_can_implement(p) != nullptr) return cudaErrorInvalidValue;
  const SsdImpl impl = ssd_resolve_impl(p);
  if (impl == SsdImpl::kRecurrent || p.length == 0) {
    // (L = 0 runs too: it copies the initial state to the final one.)
    return ssd_detail::launch_ssd_recurrent(p, stream);
  }
  const Layout l = layout_of(p);
  if (p.workspace == nullptr || p.workspace_bytes < l.total) return cudaErrorInvalidValue;
  SsdArgs a{};
  a.p = p;
  a.nchunks = l.nchunks;
  a.padded_len = l.padded_len;
  a.heads_per_group = p.nheads / p.ngroups;
  char* ws = static_cast<char*>(p.workspace);
  a.dt = reinterpret_cast<float*>(ws + l.dt);
  a.dA_cs = reinterpret_cast<float*>(ws + l.cs);
  a.cb = reinterpret_cast<float*>(ws + l.cb);
  a.states = reinterpret_cast<float*>(ws + l.states);
  a.states_in = reinterpret_cast<__nv_bfloat16*>(ws + l.states_in);
  const bool ldsm = impl != SsdImpl::kChunkedLds;
  VAMBA_CUDA_TRY(ssd_detail::launch_ssd_cumsum(a, stream));
  VAMBA_CUDA_TRY(ssd_detail::launch_ssd_bmm(a, ldsm, stream));
  VAMBA_CUDA_TRY(ssd_detail::launch_ssd_chunk_state(a, ldsm, stream));
  VAMBA_CUDA_TRY(ssd_detail::launch_ssd_state_passing(a, stream));
  return ssd_detail::launch_ssd_chunk_scan(a, ldsm, stream);
}

namespace {

__global__ void ssd_dt_kernel(SsdParams p, float* out) {
  const int64_t n = p.length * p.nheads;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    out[i] = ssd_detail::ssd_load_dt(p, i / p.nheads, static_cast<int>(i % p.nheads));
  }
}

}  // namespace

cudaError_t ssd_dt_softplus(const void* dt_raw, int64_t dt_token_stride, const float* dt_bias,
                            float dt_min, float dt_max, float* dt_out, int64_t length, int nheads,
                            cudaStream_t stream) {
  if (length == 0 || nheads == 0) return cudaSuccess;
  SsdParams p;
  p.dt = dt_raw;
  p.dt_token_stride = dt_token_stride;
  p.dt_is_bf16 = true;
  p.dt_bias = dt_bias;
  p.dt_softplus = true;
  p.dt_min = dt_min;
  p.dt_max = dt_max;
  p.length = length;
  p.nheads = nheads;
  const int64_t blocks = ceil_div(length * nheads, 256);
  ssd_dt_kernel<<<static_cast<unsigned>(blocks < 65536 ? blocks : 65536), 256, 0, stream>>>(p,
                                                                                            dt_out);
  return cudaGetLastError();
}

}  // namespace vamba::kernels
