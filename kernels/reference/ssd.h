// Mamba-2's selective state space scan (SSD), as the sequential recurrence: the clearest statement
// of what the chunked CUDA kernel computes. Per head h (group g = h / (H / G)) and step t:
//   dA       = exp(dt[t][h] · A[h])
//   S[p][n]  = dA · S[p][n] + dt[t][h] · B[t][g][n] · x[t][h][p]
//   y[t][h][p] = Σ_n C[t][g][n] · S[p][n] + D[h] · x[t][h][p]
// The state S is fp32, (H, P, N) per sequence, and is carried across calls so a sequence can be fed
// in pieces. The z gate is not applied here (it belongs to the gated RMSNorm that follows).
#pragma once

#include <cstdint>

namespace vamba::kernels::reference {

struct SsdParams {
  int64_t length = 0;   // L: time steps in this call
  int64_t nheads = 0;   // H
  int64_t headdim = 0;  // P
  int64_t ngroups = 0;  // G: B and C are shared by H / G consecutive heads
  int64_t dstate = 0;   // N
};

// x: (L, H, P); dt: (L, H), already softplus(dt + dt_bias) and clamped (see dt_softplus);
// A: (H), negative (−exp(A_log)); B, C: (L, G, N); D: (H) or nullptr;
// initial_state: (H, P, N) or nullptr (zeros); y: (L, H, P);
// final_state: (H, P, N) or nullptr, may alias initial_state.
// Heads are split over threads.
void ssd_scan(const float* x, const float* dt, const float* A, const float* B, const float* C,
              const float* D, const float* initial_state, float* y, float* final_state,
              const SsdParams& p);

// One step (decode form): x: (H, P); dt: (H); B, C: (G, N); state: (H, P, N) updated in place;
// y: (H, P). Identical to ssd_scan with L = 1 and the state carried in place.
void ssd_step(const float* x, const float* dt, const float* A, const float* B, const float* C,
              const float* D, float* state, float* y, const SsdParams& p);

// dt = softplus(dt_raw + dt_bias) then clamped to [lo, hi] (Mamba-2's dt_limit; (0, inf) is the
// default and changes nothing). dt_raw: (L, H); dt_bias: (H); dt: (L, H), may alias dt_raw.
void dt_softplus(const float* dt_raw, const float* dt_bias, float* dt, int64_t length,
                 int64_t nheads, float lo, float hi);

}  // namespace vamba::kernels::reference
