// Decode-step products on tensor cores: y = x · Wᵀ for FEW rows of x (1 ≤ m ≤ 16: one token per
// sequence of a decode batch) against a large weight W (n × k). Such a product reads the whole
// weight once and does 2·m flops per weight element, so it is a streaming read; the CUDA-core GEMV
// (gemv.h) spends 8·m fp32 FMAs and m activation loads per 16 weight bytes, which limits it at
// m ≥ 8, while one m16n8k16 mma takes 16 weight rows × 16 k × 8 x rows in one instruction.
//
// Layout: each warp owns 16 weight rows of a k-range; lane (g = lane/4, t = lane%4) loads 16 bytes
// of rows g and g+8 at k = 32·c + 8·t and 16 bytes of x row g (and g+8 for m > 8) at the same k.
// Because a dot product may visit k in any order, those contiguous pieces are used as the mma's A
// and B fragments directly (k permuted the same way in both), so there is no shared-memory staging
// and no shuffle; the warps of a block split k and add their partial tiles through shared memory.
//
// Fused forms for the decode step:
//   - up to three output segments: consecutive weight rows written to separate tensors, so one
//     launch over a fused [q; k; v] weight yields q, k and v (512-row k/v weights alone are too few
//     rows to fill the GPU);
//   - SwiGLU: y = silu(x · Wgᵀ) ⊙ (x · Wuᵀ), both weights streamed by the same warp (one launch
//     instead of gate, up and the activation);
//   - the residual blend of a Vamba layer: y += α·(x · Wᵀ) + α₂·(x₂ · W₂ᵀ), the self- and the
//     cross-attention output projections with h + α·s + (1 − α)·c in their epilogue (one launch
//     instead of two products and the blend).
// The kernel is launched with programmatic dependent launch (common/pdl.cuh): its first weight
// loads are issued before it waits for the previous kernel, which hides its ramp-up.
// The CPU twins are kernels/reference/linear.h and kernels/reference/activation.h.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace vamba::kernels {

inline constexpr int64_t kGemvMmaMaxRows = 16;
inline constexpr int kGemvMmaMaxOutputs = 3;

struct GemvMmaOutput {
  void* y = nullptr;  // (m, rows) bf16 (or f32 with y_f32), row stride ldy
  int64_t rows = 0;   // weight rows written here (the segments follow one another in W)
  int64_t ldy = 0;    // 0 = rows
};

struct GemvMmaParams {
  const void* x = nullptr;     // (m, k) bf16, row stride ldx
  const void* w = nullptr;     // (n, k) bf16, row stride ldw
  const void* w_up = nullptr;  // SwiGLU: the up weight (n, k), stride ldw; nullptr for a product
  // Residual blend (pair_blend): the second input (m, k) (row stride ldx2, 0 = k) and weight
  // (n, k) (stride ldw); y (one bf16 segment) += alpha · x·Wᵀ + alpha2 · x2·W2ᵀ.
  bool pair_blend = false;
  const void* x2 = nullptr;
  const void* w2 = nullptr;
  int64_t ldx2 = 0;
  float alpha = 1.0f, alpha2 = 1.0f;
  const void* bias = nullptr;  // (n) bf16 or nullptr; bf16 output only, not with SwiGLU
  int64_t m = 0, n = 0, k = 0;
  int64_t ldx = 0, ldw = 0;  // 0 = k
  GemvMmaOutput out[kGemvMmaMaxOutputs];
  int num_outputs = 1;      // segments; their rows add up to n
  bool y_f32 = false;       // fp32 outputs (logits); not with SwiGLU
  bool accumulate = false;  // y += result (one segment, no SwiGLU)
  int warps = 0;            // k-split warps per block (4, 8 or 16); 0 = chosen from the shape
};

// nullptr when gemv_mma() can run p, else why not: 1 ≤ m ≤ 16, k, ldx, ldw multiples of 8, x and
// the weights 16-byte aligned, n < 2^31, segment rows adding up to n.
const char* gemv_mma_can_implement(const GemvMmaParams& p);

cudaError_t gemv_mma(const GemvMmaParams& p, cudaStream_t stream);

}  // namespace vamba::kernels
