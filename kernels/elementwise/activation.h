// Elementwise activations on bf16 (math in fp32, one rounding at the output): SiLU, quick_gelu
// (the Qwen2-VL vision MLP), exact erf GELU (the merger), and SwiGLU's silu(gate) · up. The CPU
// twins are in kernels/reference/activation.h.
//
// Tensors are (rows × cols) views with row strides in elements (0 = dense: cols), so SwiGLU can
// read gate and up from the two halves of one fused (n, 2I) projection. Outputs may alias inputs
// exactly (same pointer and stride: in place); partial overlaps are not allowed.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace vamba::kernels {

enum class Activation { kSilu, kQuickGelu, kGelu };

struct ActivationParams {
  const void* x = nullptr;  // (rows, cols) bf16, row stride ldx
  void* y = nullptr;        // (rows, cols) bf16, row stride ldy
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t ldx = 0;
  int64_t ldy = 0;
  Activation act = Activation::kSilu;
};

// y = silu(gate) · up
struct SiluMulParams {
  const void* gate = nullptr;  // (rows, cols) bf16, row stride ld_gate
  const void* up = nullptr;    // (rows, cols) bf16, row stride ld_up
  void* y = nullptr;           // (rows, cols) bf16, row stride ldy
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t ld_gate = 0;
  int64_t ld_up = 0;
  int64_t ldy = 0;
};

// Null pointers (allowed for an empty view), negative sizes, strides smaller than cols. nullptr
// when the kernel can run.
const char* can_implement(const ActivationParams& p);
const char* can_implement(const SiluMulParams& p);

cudaError_t activation(const ActivationParams& p, cudaStream_t stream);
cudaError_t silu_mul(const SiluMulParams& p, cudaStream_t stream);

}  // namespace vamba::kernels
