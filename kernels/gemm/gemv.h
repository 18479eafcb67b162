// A bandwidth-bound kernel for the decode shapes of y = x · Wᵀ (+ bias) (+ y): few rows of x (m ≤
// 8) against a large weight. Such a product moves the whole weight once and does 2·m flops per
// weight element, so it is a streaming read; cuBLASLt's choice for these shapes reached 2.1 TB/s on
// the H100 (65 µs for 18944 × 3584, against 45 µs at 3.0 TB/s). Same params and results as gemm();
// gemm() routes here when GemmParams::impl asks for it (see gemm.h).
#pragma once

#include <cuda_runtime_api.h>

#include "kernels/gemm/gemm.h"

namespace vamba::kernels {

inline constexpr int64_t kGemvMaxRows = 8;
// GemmImpl::kAuto takes gemv() for m up to this (where the H100 timings in
// bench/kernels/README.md show it ahead of cuBLASLt).
inline constexpr int64_t kGemvAutoMaxRows = 4;

// nullptr when gemv() can run p: 1 ≤ m ≤ 8, k, ldx and ldw multiples of 8 and x, w 16-byte aligned
// (each lane reads 8 weights and 8 activations per load), n < 2^31, plus gemm's own limits.
const char* gemv_can_implement(const GemmParams& p);

cudaError_t gemv(const GemmParams& p, cudaStream_t stream);

}  // namespace vamba::kernels
