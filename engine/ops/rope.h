// Rotary position embeddings (rotate_half convention). The cos/sin tables are built on the host
// once per sequence (tiny: n × head_dim/2) and copied to the device; apply_rotary rotates q or k in
// place. See kernels/reference/rope.h for the formulas.
#pragma once

#include <vector>

#include "engine/ops/common.h"

namespace vamba::ops {

struct RopeTables {
  Tensor cos;  // (n, head_dim / 2) f32
  Tensor sin;  // (n, head_dim / 2) f32
};

// M-RoPE tables. position_ids: (3, n) i64 on the CPU; section: 3 widths summing to head_dim / 2.
// The tables are placed on `device` (copy ordered on `stream`).
StatusOr<RopeTables> mrope_tables(const Tensor& position_ids, int64_t head_dim,
                                  const std::vector<int>& section, float theta, Device device,
                                  const Stream& stream);
// Text positions [start, start + n) in all three rows (text-only M-RoPE = plain RoPE).
StatusOr<RopeTables> text_rope_tables(int64_t start, int64_t n, int64_t head_dim,
                                      const std::vector<int>& section, float theta, Device device,
                                      const Stream& stream);
// The vision tower's 2-D tables. grid_thw: (num_grids, 3) i64 on the CPU.
StatusOr<RopeTables> vision_rope_tables(const Tensor& grid_thw, int64_t merge_size,
                                        int64_t head_dim, float theta, Device device,
                                        const Stream& stream);

// x: (n, heads, head_dim) activation dtype, rotated in place; cos, sin: (n, head_dim / 2) f32 on
// x's device. CUDA: rotate in f32, round once to bf16.
Status apply_rotary(Tensor* x, const Tensor& cos, const Tensor& sin, const Stream& stream);
// q and k of the same tokens (n, heads_q / heads_k, head_dim) rotated by the same tables: one
// launch on CUDA (a decode step rotates both every layer).
Status apply_rotary_qk(Tensor* q, Tensor* k, const Tensor& cos, const Tensor& sin,
                       const Stream& stream);

}  // namespace vamba::ops
