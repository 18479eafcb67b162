// Stage 4 of the chunked scan: the states carried across chunks, in fp32,
//   S_in(0) = initial state,  S_in(c+1) = exp(cs_last(c)) · S_in(c) + states[c],
// writing S_in(c) (the state entering chunk c) as bf16 for the scan, whose tensor cores read bf16
// anyway, and the final state in fp32. Sequential over chunks, parallel over (head, p, n); each
// thread loads the next chunk's value before it needs it, so the loop runs at memory speed, not
// load latency.
#include "kernels/common/cuda_check.cuh"
#include "kernels/ssd/ssd_args.cuh"

namespace vamba::kernels::ssd_detail {
namespace {

constexpr int kThreads = 256;

__global__ void __launch_bounds__(kThreads) ssd_state_passing_kernel(const SsdArgs a) {
  const int h = blockIdx.y;
  const int64_t pn = static_cast<int64_t>(a.p.headdim) * a.p.dstate;
  const int64_t e = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  if (e >= pn) return;
  const int H = a.p.nheads, Q = a.p.chunk_size;
  const float* cs = a.dA_cs + static_cast<int64_t>(h) * a.padded_len + (Q - 1);
  float s = a.p.initial_state != nullptr ? a.p.initial_state[h * pn + e] : 0.0f;
  const float* st = a.states + static_cast<int64_t>(h) * pn + e;
  __nv_bfloat16* st_in = a.states_in + static_cast<int64_t>(h) * pn + e;
  const int64_t chunk_stride = static_cast<int64_t>(H) * pn;
  float next = st[0];
  for (int64_t c = 0; c < a.nchunks; ++c) {
    const float cur = next;
    if (c + 1 < a.nchunks) next = st[(c + 1) * chunk_stride];
    st_in[c * chunk_stride] = __float2bfloat16_rn(s);
    s = expf(cs[c * Q]) * s + cur;
  }
  if (a.p.final_state != nullptr) a.p.final_state[h * pn + e] = s;
}

}  // namespace

cudaError_t launch_ssd_state_passing(const SsdArgs& a, cudaStream_t stream) {
  const int64_t pn = static_cast<int64_t>(a.p.headdim) * a.p.dstate;
  const dim3 grid(static_cast<unsigned>((pn + kThreads - 1) / kThreads),
                  static_cast<unsigned>(a.p.nheads));
  ssd_state_passing_kernel<<<grid, kThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace vamba::kernels::ssd_detail
