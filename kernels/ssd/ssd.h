// Mamba-2's SSD scan on the GPU. Per head h (group g = h / (H / G)) and step t:
//   dt_t     = clamp(softplus(dt_raw[t][h] + dt_bias[h]), dt_min, dt_max)   (or dt as given)
//   S        = exp(dt_t · A[h]) · S + dt_t · x[t][h] ⊗ B[t][g]        (S: (P, N), fp32)
//   y[t][h]  = S · C[t][g] + D[h] · x[t][h]
// CPU twin: kernels/reference/ssd.h (ssd_scan, ssd_step, dt_softplus).
//
// Two implementations:
//   chunked (prefill): the SSD "dual" form of the Mamba-2 paper in chunks of Q steps —
//     1. dt and the within-chunk cumulative sum of dt·A                         (ssd_cumsum.cu)
//     2. CB = C·Bᵀ per chunk and group, (Q, Q)                                 (ssd_bmm.cu)
//     3. each chunk's own final state Σ_j x_j ⊗ B_j · dt_j · exp(cs_end − cs_j)
//                                                                           (ssd_chunk_state.cu)
//     4. the carried states across chunks, sequential in fp32; the state entering each chunk is
//        stored as bf16, the precision step 5's tensor cores read (ssd_state_passing.cu)
//     5. y = exp(cs_i) · C_i·S_prev + Σ_{j≤i} CB_ij · exp(cs_i − cs_j) · dt_j · x_j + D·x, one
//        block per chunk and run of heads sharing C·Bᵀ               (ssd_chunk_scan_heads.cu)
//     The matrix products run on bf16 tensor cores (mma.sync) with fp32 accumulation; the carried
//     state and the final state are fp32.
//   recurrent (decode, and a cross-check): one warp per (head, p) walks the steps with the state in
//     registers (ssd_recurrent.cu). L = 1 is the single-step decode update.
// Both take an initial state and return the final one, so a long video can be fed in pieces.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <limits>

namespace vamba::kernels {

enum class SsdImpl : int {
  kAuto = 0,        // chunked when it can run (and L > 1), else recurrent
  kChunked = 1,     // tensor-core chunked scan, shared-memory fragments through ldmatrix
  kChunkedLds = 2,  // the same with plain shared loads (a cross-check)
  kRecurrent = 3,   // sequential over time, fp32 CUDA cores
  // kChunked with the previous scan stage (one block per head and 64-row tile, reading C·Bᵀ once
  // per head): kept to measure and cross-check the several-heads-per-block scan against.
  kChunkedPerHead = 4,
};

struct SsdParams {
  // x: bf16 (L, H, P): x[t][h][p] at x + t·x_token_stride + h·P + p (heads and p contiguous).
  const void* x = nullptr;
  int64_t x_token_stride = 0;
  // B, C: bf16 (L, G, N): B[t][g][n] at B + t·b_token_stride + g·N + n.
  const void* B = nullptr;
  int64_t b_token_stride = 0;
  const void* C = nullptr;
  int64_t c_token_stride = 0;
  // dt: (L, H), f32 or bf16, dt[t][h] at dt + t·dt_token_stride + h. With dt_softplus the raw
  // in_proj column is read directly (the fused dt path); otherwise dt is used as given (+ dt_bias
  // if set), then clamped to [dt_min, dt_max].
  const void* dt = nullptr;
  int64_t dt_token_stride = 0;
  bool dt_is_bf16 = false;
  const float* dt_bias = nullptr;  // (H) or nullptr
  bool dt_softplus = false;
  float dt_min = 0.0f;  // Mamba-2's dt_limit, (0, inf) by default
  float dt_max = std::numeric_limits<float>::infinity();
  const float* A = nullptr;              // (H), negative
  const float* D = nullptr;              // (H) or nullptr
  const float* initial_state = nullptr;  // f32 (H, P, N) or nullptr (zeros)
  float* final_state = nullptr;          // f32 (H, P, N) or nullptr; may alias initial_state
  void* y = nullptr;  // bf16 (L, H, P), y[t][h][p] at y + t·y_token_stride + ...
  int64_t y_token_stride = 0;
  int64_t length = 0;  // L
  int nheads = 0;      // H
  int headdim = 0;     // P
  int ngroups = 0;     // G
  int dstate = 0;      // N
  int chunk_size = 256;
  SsdImpl impl = SsdImpl::kAuto;
  // Chunked scan stage: heads per block (they share the chunk's C and C·Bᵀ in shared memory);
  // 0 picks it (at most 16, spread evenly over each group's heads). Tests set it to cover blocks
  // with fewer heads than the others.
  int scan_heads_per_block = 0;
  void* workspace = nullptr;  // chunked only: ssd_workspace_bytes(p) of device memory
  size_t workspace_bytes = 0;
};

// Why the chosen implementation cannot run p, or nullptr.
const char* ssd_can_implement(const SsdParams& p);

// The implementation kAuto resolves to for p.
SsdImpl ssd_resolve_impl(const SsdParams& p);

// Device memory the chunked scan needs: dt and cumsum (H · L_pad floats each), C·Bᵀ
// (chunks · G · Q² floats), the chunk states (chunks · H · P · N floats) and the incoming states
// (the same count in bf16) — 2.8 GB at 7B widths and 128K tokens, so the op layer feeds very long
// videos in pieces. 0 for the recurrent path.
size_t ssd_workspace_bytes(const SsdParams& p);

// Runs the scan on `stream`.
cudaError_t ssd_scan(const SsdParams& p, cudaStream_t stream);

// dt_out[t][h] = clamp(softplus(dt_raw[t][h] + dt_bias[h]), dt_min, dt_max) as f32 (L, H), for the
// op layer's separate dt step. dt_raw: bf16 (L, H) with a token stride.
cudaError_t ssd_dt_softplus(const void* dt_raw, int64_t dt_token_stride, const float* dt_bias,
                            float dt_min, float dt_max, float* dt_out, int64_t length, int nheads,
                            cudaStream_t stream);

}  // namespace vamba::kernels
