// Row normalisations on bf16 rows with fp32 statistics and one rounding at the output:
// RMSNorm (Qwen2 and mamba_ssm), residual add fused with RMSNorm, LayerNorm (the vision tower), and
// Mamba-2's gated RMSNorm. The CPU twins are in kernels/reference/norm.h.
//
// All tensors are bf16 rows of `dim` elements with a row stride in elements (0 = dense: dim), so
// views into wider buffers (the z slice of the Mamba in_proj output) need no copy. Row counts are
// 64-bit (video prefill reaches millions of rows).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace vamba::kernels {

// Widest row normalised in one read: each thread keeps its share of the row in registers (at most
// 32 floats, so the kernel stays under 128 registers without spilling) across at most 512 threads
// per row. The model's widest norm is 7168 (Mamba d_inner). Wider rows still work: they are read
// again from L2 for each pass (2 reads for RMS, 3 for LayerNorm).
inline constexpr int64_t kMaxNormDim = 512 * 32;

struct RmsNormParams {
  const void* x = nullptr;  // (rows, dim) bf16, row stride ldx
  const void* w = nullptr;  // (dim) bf16
  void* y = nullptr;        // (rows, dim) bf16, row stride ldy; may alias x
  int64_t rows = 0;
  int64_t dim = 0;
  int64_t ldx = 0;
  int64_t ldy = 0;
  float eps = 1e-6f;
};

// residual += x (rounded to bf16, as the unfused bf16 model stores it), then y =
// rms_norm(residual).
struct AddRmsNormParams {
  void* residual = nullptr;  // (rows, dim) bf16, row stride ldr; updated in place
  const void* x = nullptr;   // (rows, dim) bf16, row stride ldx
  const void* w = nullptr;   // (dim) bf16
  void* y = nullptr;         // (rows, dim) bf16, row stride ldy; may alias x, not residual
  int64_t rows = 0;
  int64_t dim = 0;
  int64_t ldr = 0;
  int64_t ldx = 0;
  int64_t ldy = 0;
  float eps = 1e-6f;
};

// y = (x − mean) / sqrt(var + eps) · w + b (biased variance, as torch.nn.LayerNorm).
struct LayerNormParams {
  const void* x = nullptr;  // (rows, dim) bf16, row stride ldx
  const void* w = nullptr;  // (dim) bf16
  const void* b = nullptr;  // (dim) bf16 or nullptr
  void* y = nullptr;        // (rows, dim) bf16, row stride ldy; may alias x
  int64_t rows = 0;
  int64_t dim = 0;
  int64_t ldx = 0;
  int64_t ldy = 0;
  float eps = 1e-6f;
};

// mamba_ssm's RMSNormGated: each row splits into dim / group_size groups normalised separately.
//   norm_before_gate == false (Vamba): y = rms_norm_g(x · silu(z)) · w
//   norm_before_gate == true:          y = rms_norm_g(x) · w · silu(z)
// z == nullptr: y = rms_norm_g(x) · w. The gate product stays in fp32 (as the Triton kernel keeps
// it).
struct GatedRmsNormParams {
  const void* x = nullptr;  // (rows, dim) bf16, row stride ldx
  const void* z = nullptr;  // (rows, dim) bf16, row stride ldz, or nullptr
  const void* w = nullptr;  // (dim) bf16
  void* y = nullptr;        // (rows, dim) bf16, row stride ldy; may alias x or z
  int64_t rows = 0;
  int64_t dim = 0;
  int64_t group_size = 0;  // 0 = dim
  int64_t ldx = 0;
  int64_t ldz = 0;
  int64_t ldy = 0;
  bool norm_before_gate = false;
  float eps = 1e-5f;
};

// can_implement: null pointers (allowed when rows == 0), dim < 1, a stride smaller than dim, a
// group size that does not divide dim, eps < 0. Returns nullptr when the kernel can run, else the
// reason.
const char* can_implement(const RmsNormParams& p);
const char* can_implement(const AddRmsNormParams& p);
const char* can_implement(const LayerNormParams& p);
const char* can_implement(const GatedRmsNormParams& p);

// Launchers: cudaErrorInvalidValue when can_implement rejects the params, else the launch's error.
// rows == 0 launches nothing.
cudaError_t rms_norm(const RmsNormParams& p, cudaStream_t stream);
cudaError_t add_rms_norm(const AddRmsNormParams& p, cudaStream_t stream);
cudaError_t layer_norm(const LayerNormParams& p, cudaStream_t stream);
cudaError_t gated_rms_norm(const GatedRmsNormParams& p, cudaStream_t stream);

}  // namespace vamba::kernels
