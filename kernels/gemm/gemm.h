// Dense matrix products through cuBLASLt: y = x · Wᵀ (+ bias) (+ y), the nn.Linear of every layer.
// bf16 operands, fp32 accumulation, bf16 (or fp32) output. The CPU twin is
// kernels/reference/linear.h.
//
// cuBLASLt state is cached: one handle per device, one workspace per (device, stream) (so two
// streams never share scratch memory), and one plan (layouts + heuristic algorithm) per shape,
// strides, alignment and epilogue. All caches are thread-safe and live until process exit.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

namespace vamba::kernels {

// Which implementation runs the product.
//   kAuto:     the streaming GEMV of gemv.h for m ≤ kGemvAutoMaxRows where it can run, cuBLASLt
//              otherwise: what bench/kernels/README.md measured fastest for plain products (the
//              tensor-core GEMV of gemv_mma.h wins only in its fused decode forms, which the ops
//              call directly; see gemv_mma_auto). VAMBA_GEMV=unfused|mma|cublas in the environment
//              picks another decode path, for A/B timing of whole decode steps (gemm.cu).
//   kCublasLt: always cuBLASLt.
//   kGemv:     the streaming kernel of kernels/gemm/gemv.h; an error (cudaErrorNotSupported) where
//              gemv_can_implement refuses the shape.
//   kGemvMma:  the tensor-core GEMV of kernels/gemm/gemv_mma.h; cudaErrorNotSupported where
//              gemv_mma_can_implement refuses the shape.
enum class GemmImpl { kAuto, kCublasLt, kGemv, kGemvMma };

struct GemmParams {
  const void* x = nullptr;     // (m, k) bf16, row stride ldx
  const void* w = nullptr;     // (n, k) bf16, row stride ldw: the PyTorch Linear weight layout
  const void* bias = nullptr;  // (n) bf16, or nullptr; only with a bf16 output
  void* y = nullptr;           // (m, n) bf16 (or f32 if y_f32), row stride ldy; no alias with x, w
  int64_t m = 0;
  int64_t n = 0;
  int64_t k = 0;
  int64_t ldx = 0;          // 0 = k
  int64_t ldw = 0;          // 0 = k
  int64_t ldy = 0;          // 0 = n
  bool y_f32 = false;       // fp32 output (logits)
  bool accumulate = false;  // y = x · Wᵀ (+ bias) + y
  GemmImpl impl = GemmImpl::kAuto;
};

// Limits: n, k in [1, 2^31 − 1]; m ≥ 0 of any size (m = 0 does nothing and accepts null pointers)
// (rows are split into pieces whose element offsets stay under 2^31, because not every cuBLASLt
// kernel indexes with 64 bits); strides at least the row width; bias needs a bf16 output
// (cuBLASLt's bias type is the output type). Returns nullptr when the product can run, else the
// reason.
const char* can_implement(const GemmParams& p);

// Launches the product on `stream`. Errors: cudaErrorInvalidValue when can_implement rejects p;
// cuBLASLt failures map to cudaErrorNotSupported (no algorithm for this shape/alignment),
// cudaErrorMemoryAllocation, cudaErrorInvalidValue or cudaErrorUnknown, with the detail in
// gemm_last_error() (per thread). m == 0 launches nothing.
cudaError_t gemm(const GemmParams& p, cudaStream_t stream);

// The cuBLASLt-level detail of this thread's last failed gemm() ("" after a success).
const std::string& gemm_last_error();

// Whether the fused decode forms of gemv_mma.h (q/k/v in one product, SwiGLU) should run an m-row
// product: 1 ≤ m ≤ 16 unless VAMBA_GEMV turns them off.
bool gemv_mma_auto(int64_t m);

// Bytes of workspace handed to cuBLASLt per (device, stream).
inline constexpr size_t kGemmWorkspaceBytes = size_t{32} << 20;

}  // namespace vamba::kernels
