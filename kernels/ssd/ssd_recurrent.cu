// The SSD recurrence step by step: one warp per (head, p), lane l holding state entries
// n = l, l + 32, … (N ≤ 128) in fp32 registers; y needs one warp reduction per step. This is the
// decode update (L = 1) and the cross-check of the chunked scan; the next step's inputs are loaded
// before the current step's arithmetic so long sequences run at load throughput, not latency.
#include "kernels/common/cuda_check.cuh"
#include "kernels/ssd/ssd_args.cuh"

namespace vamba::kernels::ssd_detail {
namespace {

constexpr int kMaxPerLane = 4;

struct StepInputs {
  float dt, x;
  float b[kMaxPerLane], c[kMaxPerLane];
};

__device__ __forceinline__ void load_step(const SsdParams& p, int64_t t, int h, int g, int pi,
                                          int lane, StepInputs& in) {
  in.dt = ssd_load_dt(p, t, h);
  in.x = __bfloat162float(static_cast<const __nv_bfloat16*>(
      p.x)[t * p.x_token_stride + static_cast<int64_t>(h) * p.headdim + pi]);
  const auto* b = static_cast<const __nv_bfloat16*>(p.B) + t * p.b_token_stride +
                  static_cast<int64_t>(g) * p.dstate;
  const auto* c = static_cast<const __nv_bfloat16*>(p.C) + t * p.c_token_stride +
                  static_cast<int64_t>(g) * p.dstate;
#pragma unroll
  for (int k = 0; k < kMaxPerLane; ++k) {
    const int n = lane + 32 * k;
    in.b[k] = n < p.dstate ? __bfloat162float(b[n]) : 0.0f;
    in.c[k] = n < p.dstate ? __bfloat162float(c[n]) : 0.0f;
  }
}

__global__ void __launch_bounds__(128) ssd_recurrent_kernel(const SsdParams p) {
  const int lane = threadIdx.x & 31;
  const int64_t wid = static_cast<int64_t>(blockIdx.x) * 4 + (threadIdx.x >> 5);
  if (wid >= static_cast<int64_t>(p.nheads) * p.headdim) return;
  const int h = static_cast<int>(wid / p.headdim);
  const int pi = static_cast<int>(wid % p.headdim);
  const int g = h / (p.nheads / p.ngroups);
  const int64_t state_off = wid * p.dstate;      // (h, p, ·)
  const float A = p.length > 0 ? p.A[h] : 0.0f;  // (L = 0 only copies the state)
  const float dskip = p.D != nullptr ? p.D[h] : 0.0f;

  float s[kMaxPerLane];
#pragma unroll
  for (int k = 0; k < kMaxPerLane; ++k) {
    const int n = lane + 32 * k;
    s[k] = (p.initial_state != nullptr && n < p.dstate) ? p.initial_state[state_off + n] : 0.0f;
  }
  auto* y = static_cast<__nv_bfloat16*>(p.y);
  StepInputs cur{}, nxt{};
  if (p.length > 0) load_step(p, 0, h, g, pi, lane, cur);
  for (int64_t t = 0; t < p.length; ++t) {
    if (t + 1 < p.length) load_step(p, t + 1, h, g, pi, lane, nxt);
    const float dA = expf(cur.dt * A);
    const float dtx = cur.dt * cur.x;
    float acc = 0.0f;
#pragma unroll
    for (int k = 0; k < kMaxPerLane; ++k) {
      s[k] = dA * s[k] + dtx * cur.b[k];
      acc += cur.c[k] * s[k];
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, o);
    if (lane == 0) {
      y[t * p.y_token_stride + static_cast<int64_t>(h) * p.headdim + pi] =
          __float2bfloat16_rn(acc + dskip * cur.x);
    }
    cur = nxt;
  }
  if (p.final_state != nullptr) {
#pragma unroll
    for (int k = 0; k < kMaxPerLane; ++k) {
      const int n = lane + 32 * k;
      if (n < p.dstate) p.final_state[state_off + n] = s[k];
    }
  }
}

}  // namespace

cudaError_t launch_ssd_recurrent(const SsdParams& p, cudaStream_t stream) {
  const int64_t warps = static_cast<int64_t>(p.nheads) * p.headdim;
  if (warps == 0) return cudaSuccess;
  ssd_recurrent_kernel<<<static_cast<unsigned>((warps + 3) / 4), 128, 0, stream>>>(p);
  return cudaGetLastError();
}

}  // namespace vamba::kernels::ssd_detail
