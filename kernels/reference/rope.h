// Rotary position embeddings in the rotate_half convention: for a head vector x of width D and
// angles a_i (i < D/2),
//   out[i]       = x[i] · cos a_i − x[i + D/2] · sin a_i
//   out[i + D/2] = x[i + D/2] · cos a_i + x[i] · sin a_i
// The angle tables are built once per sequence (mrope_angles / vision_rope_angles) and shared by
// every layer; apply_rotary rotates q or k in place.
#pragma once

#include <cstdint>

namespace vamba::kernels::reference {

// Qwen2-VL's inverse frequencies: inv_freq[i] = 1 / theta^(2i / dim), i < dim/2, computed in fp32
// like PyTorch (pow on the fp32 exponent).
void rope_inv_freq(float theta, int64_t dim, float* inv_freq);

// M-RoPE (Qwen2-VL multimodal rotary) cos/sin tables.
// positions: (3, n) int64, rows t, h, w; section: 3 widths summing to head_dim / 2.
// cos, sin: (n, head_dim / 2). Frequency i belongs to the section s with
// section[0] + … + section[s−1] ≤ i < section[0] + … + section[s]; its angle is
// positions[s][p] · inv_freq[i] (fp32 product, as PyTorch's fp32 matmul), cos/sin rounded to fp32.
// For text, the three rows are equal and this is plain RoPE.
void mrope_angles(const int64_t* positions, int64_t n, int64_t head_dim, const int* section,
                  float theta, float* cos, float* sin);

// The Qwen2-VL vision tower's 2-D rotary tables over the patches of one or more videos/images.
// grid_thw: (num_grids, 3) int64 (t, h, w in patches). Patches are ordered as the processor emits
// rows: per grid, per time step, per merge block (row-major over blocks), per row and column inside
// the merge block (merge × merge). head_dim: the tower's head width; theta: 1e4.
// With q = head_dim / 4 frequencies f_k = 1 / theta^(2k / (head_dim/2)), a patch at (row, col)
// gets angles [row · f_0 … row · f_{q−1}, col · f_0 … col · f_{q−1}] (head_dim / 2 values).
// cos, sin: (total patches, head_dim / 2).
void vision_rope_angles(const int64_t* grid_thw, int64_t num_grids, int64_t merge_size,
                        int64_t head_dim, float theta, float* cos, float* sin);

// x: (n, heads, head_dim) rotated in place; cos, sin: (n, head_dim / 2).
void apply_rotary(float* x, const float* cos, const float* sin, int64_t n, int64_t heads,
                  int64_t head_dim);

}  // namespace vamba::kernels::reference
