// Rotary position embeddings applied in place (rotate_half convention), from precomputed fp32
// cos/sin tables (n, head_dim / 2): for each head vector x and i < head_dim / 2,
//   x[i]        ← x[i] · cos_i − x[i + D/2] · sin_i
//   x[i + D/2]  ← x[i + D/2] · cos_i + x[i] · sin_i
// in fp32 with one rounding to bf16. The same kernel serves Qwen2-VL's M-RoPE (text and decoder)
// and the vision tower's 2-D rotary: they differ only in how the tables are built (on the host, see
// kernels/reference/rope.h: mrope_angles, vision_rope_angles). q and k can be rotated in one
// launch.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace vamba::kernels {

struct RotaryParams {
  void* x = nullptr;  // (n, heads, head_dim) bf16, token stride ldx (elements; 0 = heads·head_dim)
  int64_t heads = 0;
  int64_t ldx = 0;
  void* x2 = nullptr;  // optional second tensor (k) on the same tokens: (n, heads2, head_dim)
  int64_t heads2 = 0;
  int64_t ldx2 = 0;
  const float* cos = nullptr;  // (n, head_dim / 2) f32, row stride ld_cs (0 = head_dim / 2)
  const float* sin = nullptr;  // same layout as cos
  int64_t ld_cs = 0;
  int64_t n = 0;
  int64_t head_dim = 0;
};

// Null x/cos/sin (allowed when n == 0), odd or non-positive head_dim, heads < 1, strides smaller
// than a row.
const char* can_implement(const RotaryParams& p);

cudaError_t apply_rotary(const RotaryParams& p, cudaStream_t stream);

}  // namespace vamba::kernels
