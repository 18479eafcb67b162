// Weighted sums of bf16 tensors, one fp32 evaluation and one rounding per element:
//   y = a + alpha_b · b (+ alpha_c · c)
// which covers the residual add (alpha_b = 1), the bias add (b one row broadcast over all rows),
// and Vamba's blend h += alpha · s + (1 − alpha) · c. The CPU twins are add / residual_blend in
// kernels/reference/activation.h (evaluated in the same order: (a + alpha_b·b) + alpha_c·c).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace vamba::kernels {

struct AddParams {
  const void* a = nullptr;  // (rows, cols) bf16, row stride lda
  const void* b = nullptr;  // (rows, cols) bf16, row stride ldb; with broadcast_b: (cols)
  const void* c = nullptr;  // (rows, cols) bf16, row stride ldc, or nullptr
  void* y = nullptr;        // (rows, cols) bf16, row stride ldy; may be a, b or c exactly
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t lda = 0;  // 0 = cols (all four)
  int64_t ldb = 0;
  int64_t ldc = 0;
  int64_t ldy = 0;
  float alpha_b = 1.0f;
  float alpha_c = 1.0f;
  bool broadcast_b = false;  // b is a single row (a bias) added to every row
};

// Null a, b or y (allowed for an empty view), negative sizes, strides smaller than cols. nullptr
// when the kernel can run.
const char* can_implement(const AddParams& p);

cudaError_t add(const AddParams& p, cudaStream_t stream);

}  // namespace vamba::kernels
