// The Qwen2-VL vision tower: pixel_values_videos rows -> video tokens (the LM's v_0).
//
//   patch embedding   Conv3d with kernel = stride (2, 14, 14), no bias = one matrix product on the
//                     1176 columns of each row
//   depth x block     x += proj(attn(rope2d(qkv(LN1(x))))) with attention restricted to the patches
//                     of one temporal pair; x += fc2(quick_gelu(fc1(LN2(x)))); LayerNorm eps 1e-6
//   merger            LN(x), 2x2 merge-block rows concatenated (4 consecutive rows), Linear, exact
//                     GELU, Linear to the LM width
//
// Attention never crosses a temporal pair, so the tower runs pair batches independently: a video of
// any length is encoded in batches of whole pairs, and only one batch's activations are alive at a
// time (a 1,000-frame video never holds all its patches' activations).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/core/stream.h"
#include "engine/core/tensor.h"
#include "engine/model/checkpoint.h"
#include "engine/model/config.h"

namespace vamba::vision {

// One transformer block's weights, by checkpoint name (visual.blocks.{b}.*).
struct VisionBlockWeights {
  Tensor norm1_w, norm1_b;  // norm1.weight / .bias (E)
  Tensor q_w, k_w, v_w;     // attn.qkv.weight rows [0,E), [E,2E), [2E,3E): (E, E) each
  Tensor q_b, k_b, v_b;     // attn.qkv.bias, split the same way (E)
  Tensor proj_w, proj_b;    // attn.proj.weight (E, E) / .bias (E)
  Tensor norm2_w, norm2_b;  // norm2.weight / .bias (E)
  Tensor fc1_w, fc1_b;      // mlp.fc1.weight (M, E) / .bias (M)
  Tensor fc2_w, fc2_b;      // mlp.fc2.weight (E, M) / .bias (E)
};

struct VisionTowerWeights {
  Tensor patch_w;  // visual.patch_embed.proj.weight (E, C, T, P, P) viewed as (E, C·T·P·P)
  std::vector<VisionBlockWeights> blocks;
  Tensor merger_ln_w, merger_ln_b;    // visual.merger.ln_q.weight / .bias (E)
  Tensor merger_fc1_w, merger_fc1_b;  // visual.merger.mlp.0.weight (4E, 4E) / .bias (4E)
  Tensor merger_fc2_w, merger_fc2_b;  // visual.merger.mlp.2.weight (H, 4E) / .bias (H)
};

struct VisionEncodeOptions {
  // Upper bound on patches per batch (whole temporal pairs; at least one pair per batch). Bounds
  // the activations: a batch holds about patches × 4E floats at its widest (the MLP).
  int64_t max_patches_per_batch = 16384;
  // Called per batch with named intermediates for layer-by-layer diffs: "vision.patch_embed_out"
  // and "vision.blocks.{i}.out" (patches, E), and "vision_embeds" (tokens, H); `row_offset` is
  // the batch's first row in the whole video. Empty: no copies are made.
  std::function<void(const std::string& name, const Tensor& value, int64_t row_offset)>
      on_intermediate;
};

class VisionTower {
 public:
  // Reads the tower's weights from `checkpoint` (bf16 -> f32 once, on the CPU; bf16 on CUDA) and
  // places them on `device`.
  static StatusOr<VisionTower> load(const Checkpoint& checkpoint, Device device = Device::cpu(),
                                    const Stream* stream = nullptr);

  // pixel_values: (grid_t · grid_h · grid_w, C·T·P·P) f32 on the CPU, in the processor's row
  // order. Returns (grid_t · grid_h · grid_w / merge², hidden_size): activation dtype on the
  // tower's device.
  StatusOr<Tensor> encode(const Tensor& pixel_values, int64_t grid_t, int64_t grid_h,
                          int64_t grid_w, const VisionEncodeOptions& options,
                          const Stream& stream) const;

  const VisionConfig& config() const { return config_; }
  Device device() const { return device_; }

 private:
  // One batch of whole temporal pairs: pixels (pairs · h · w, C·T·P·P) on the device -> tokens.
  Status encode_batch(const Tensor& pixels, int64_t pairs, int64_t grid_h, int64_t grid_w,
                      const Tensor& cos, const Tensor& sin, const VisionEncodeOptions& options,
                      int64_t row_offset, Tensor* tokens, const Stream& stream) const;

  VisionConfig config_;
  Device device_;
  VisionTowerWeights w_;
};

}  // namespace vamba::vision
