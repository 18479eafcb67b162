#include "vision/tower/vision_tower.h"

#include <algorithm>
#include <utility>

#include "engine/ops/ops.h"

namespace vamba::vision {
namespace {

// Qwen2-VL's vision LayerNorms (blocks and merger) and its 2-D rotary base.
constexpr float kLayerNormEps = 1e-6f;
constexpr float kRopeTheta = 10000.0f;

// A checkpoint weight in the device's activation dtype (f32 on the CPU, converted once here;
// bf16 on CUDA), on `device`.
StatusOr<Tensor> load_weight(const Checkpoint& checkpoint, const std::string& name, Device device,
                             const Stream* stream) {
  VAMBA_ASSIGN_OR_RETURN(Tensor t, checkpoint.weight(name));
  const DType want = ops::activation_dtype(device);
  if (t.dtype() != want) {
    VAMBA_ASSIGN_OR_RETURN(t, t.to_dtype_cpu(want));
  }
  if (device.is_cuda()) {
    VAMBA_ASSIGN_OR_RETURN(t, t.to(device, stream));
  }
  return t;
}

}  // namespace

StatusOr<VisionTower> VisionTower::load(const Checkpoint& checkpoint, Device device,
                                        const Stream* stream) {
  VisionTower tower;
  tower.config_ = checkpoint.config.vision;
  tower.device_ = device;
  const VisionConfig& c = tower.config_;
  const int64_t e = c.embed_dim;
  if (c.num_heads <= 0 || e % c.num_heads != 0 || (e / c.num_heads) % 4 != 0) {
    return invalid_argument("vision tower: embed_dim " + std::to_string(e) +
                            " must split into heads whose width divides by 4 (2-D rotary)");
  }
  if (c.hidden_act != "quick_gelu") {
    return unimplemented("vision tower: hidden_act '" + c.hidden_act + "' (only quick_gelu)");
  }
  auto get = [&](const std::string& name) { return load_weight(checkpoint, name, device, stream); };
  VisionTowerWeights& w = tower.w_;

  VAMBA_ASSIGN_OR_RETURN(Tensor patch, get("visual.patch_embed.proj.weight"));
  VAMBA_ASSIGN_OR_RETURN(w.patch_w, patch.reshape({e, -1}));
  for (int b = 0; b < c.depth; ++b) {
    auto block = [&](const std::string& suffix) { return get(vision_block_weight(b, suffix)); };
    VisionBlockWeights bw;
    VAMBA_ASSIGN_OR_RETURN(bw.norm1_w, block("norm1.weight"));
    VAMBA_ASSIGN_OR_RETURN(bw.norm1_b, block("norm1.bias"));
    VAMBA_ASSIGN_OR_RETURN(bw.norm2_w, block("norm2.weight"));
    VAMBA_ASSIGN_OR_RETURN(bw.norm2_b, block("norm2.bias"));
    // qkv's output rows are [q | k | v] (then heads × head_dim each): three contiguous row views,
    // so q, k and v come out of three GEMMs already contiguous.
    VAMBA_ASSIGN_OR_RETURN(Tensor qkv_w, block("attn.qkv.weight"));
    VAMBA_ASSIGN_OR_RETURN(Tensor qkv_b, block("attn.qkv.bias"));
    VAMBA_ASSIGN_OR_RETURN(bw.q_w, qkv_w.slice_rows(0, e));
    VAMBA_ASSIGN_OR_RETURN(bw.k_w, qkv_w.slice_rows(e, 2 * e));
    VAMBA_ASSIGN_OR_RETURN(bw.v_w, qkv_w.slice_rows(2 * e, 3 * e));
    VAMBA_ASSIGN_OR_RETURN(bw.q_b, qkv_b.slice_rows(0, e));
    VAMBA_ASSIGN_OR_RETURN(bw.k_b, qkv_b.slice_rows(e, 2 * e));
    VAMBA_ASSIGN_OR_RETURN(bw.v_b, qkv_b.slice_rows(2 * e, 3 * e));
    VAMBA_ASSIGN_OR_RETURN(bw.proj_w, block("attn.proj.weight"));
    VAMBA_ASSIGN_OR_RETURN(bw.proj_b, block("attn.proj.bias"));
    VAMBA_ASSIGN_OR_RETURN(bw.fc1_w, block("mlp.fc1.weight"));
    VAMBA_ASSIGN_OR_RETURN(bw.fc1_b, block("mlp.fc1.bias"));
    VAMBA_ASSIGN_OR_RETURN(bw.fc2_w, block("mlp.fc2.weight"));
    VAMBA_ASSIGN_OR_RETURN(bw.fc2_b, block("mlp.fc2.bias"));
    w.blocks.push_back(std::move(bw));
  }
  VAMBA_ASSIGN_OR_RETURN(w.merger_ln_w, get("visual.merger.ln_q.weight"));
  VAMBA_ASSIGN_OR_RETURN(w.merger_ln_b, get("visual.merger.ln_q.bias"));
  VAMBA_ASSIGN_OR_RETURN(w.merger_fc1_w, get("visual.merger.mlp.0.weight"));
  VAMBA_ASSIGN_OR_RETURN(w.merger_fc1_b, get("visual.merger.mlp.0.bias"));
  VAMBA_ASSIGN_OR_RETURN(w.merger_fc2_w, get("visual.merger.mlp.2.weight"));
  VAMBA_ASSIGN_OR_RETURN(w.merger_fc2_b, get("visual.merger.mlp.2.bias"));
  return tower;
}

StatusOr<Tensor> VisionTower::encode(const Tensor& pixel_values, int64_t grid_t, int64_t grid_h,
                                     int64_t grid_w, const VisionEncodeOptions& options,
                                     const Stream& stream) const {
  const int64_t merge = config_.spatial_merge_size;
  const int64_t cols = w_.patch_w.dim(1);
  if (grid_t <= 0 || grid_h <= 0 || grid_w <= 0 || grid_h % merge != 0 || grid_w % merge != 0) {
    return invalid_argument("vision tower: grid (" + std::to_string(grid_t) + ", " +
                            std::to_string(grid_h) + ", " + std::to_string(grid_w) +
                            ") must be positive with h and w multiples of the merge size " +
                            std::to_string(merge));
  }
  const int64_t per_pair = grid_h * grid_w;
  const int64_t patches = grid_t * per_pair;
  if (!pixel_values.defined() || pixel_values.rank() != 2 || pixel_values.dtype() != DType::kF32 ||
      pixel_values.is_cuda() || pixel_values.dim(0) != patches || pixel_values.dim(1) != cols) {
    return invalid_argument("vision tower: pixel_values must be f32 (" + std::to_string(patches) +
                            ", " + std::to_string(cols) + ") on the CPU, got " +
                            (pixel_values.defined() ? pixel_values.describe() : "undefined"));
  }
  const int64_t group = merge * merge;
  const int64_t pairs_per_batch =
      std::clamp<int64_t>(options.max_patches_per_batch / per_pair, 1, grid_t);

  // Rotary angles depend only on the position inside a pair, so one table for a full batch
  // serves every batch (a shorter last batch uses its leading rows).
  VAMBA_ASSIGN_OR_RETURN(Tensor grid,
                         Tensor::from_int64({1, 3}, {pairs_per_batch, grid_h, grid_w}));
  const int64_t head_dim = config_.embed_dim / config_.num_heads;
  VAMBA_ASSIGN_OR_RETURN(
      ops::RopeTables rope,
      ops::vision_rope_tables(grid, merge, head_dim, kRopeTheta, device_, stream));

  VAMBA_ASSIGN_OR_RETURN(Tensor tokens, Tensor::empty({patches / group, config_.hidden_size},
                                                      ops::activation_dtype(device_), device_));
  for (int64_t t0 = 0; t0 < grid_t; t0 += pairs_per_batch) {
    const int64_t pairs = std::min(pairs_per_batch, grid_t - t0);
    const int64_t row0 = t0 * per_pair;
    const int64_t rows = pairs * per_pair;
    VAMBA_ASSIGN_OR_RETURN(Tensor pixels, pixel_values.slice_rows(row0, row0 + rows));
    if (device_.is_cuda()) {
      VAMBA_ASSIGN_OR_RETURN(Tensor on_device, pixels.to(device_, &stream));
      Tensor converted;
      VAMBA_RETURN_IF_ERROR(
          ops::cast(on_device, ops::activation_dtype(device_), &converted, stream));
      pixels = std::move(converted);
    }
    VAMBA_ASSIGN_OR_RETURN(Tensor cos, rope.cos.slice_rows(0, rows));
    VAMBA_ASSIGN_OR_RETURN(Tensor sin, rope.sin.slice_rows(0, rows));
    VAMBA_ASSIGN_OR_RETURN(Tensor out, tokens.slice_rows(row0 / group, (row0 + rows) / group));
    VAMBA_RETURN_IF_ERROR(
        encode_batch(pixels, pairs, grid_h, grid_w, cos, sin, options, row0, &out, stream));
  }
  return tokens;
}

Status VisionTower::encode_batch(const Tensor& pixels, int64_t pairs, int64_t grid_h,
                                 int64_t grid_w, const Tensor& cos, const Tensor& sin,
                                 const VisionEncodeOptions& options, int64_t row_offset,
                                 Tensor* tokens, const Stream& stream) const {
  const int64_t n = pixels.dim(0);
  const int64_t e = config_.embed_dim;
  const int64_t heads = config_.num_heads;
  const int64_t head_dim = e / heads;
  const int64_t group =
      static_cast<int64_t>(config_.spatial_merge_size) * config_.spatial_merge_size;
  auto report = [&](const std::string& name, const Tensor& value, int64_t offset) {
    if (options.on_intermediate) options.on_intermediate(name, value, offset);
  };

  // Attention segments: each temporal pair's patches see only each other.
  ops::AttentionOptions attn_options;
  attn_options.cu_seqlens.resize(pairs + 1);
  for (int64_t p = 0; p <= pairs; ++p) attn_options.cu_seqlens[p] = p * grid_h * grid_w;

  Tensor x;  // (n, E) residual stream
  VAMBA_RETURN_IF_ERROR(ops::linear(pixels, w_.patch_w, Tensor(), &x, stream));
  report("vision.patch_embed_out", x, row_offset);

  // Buffers reused by every block (allocated by the first op that writes them).
  Tensor normed, q, k, v, attn, projected, hidden;  // (n, E) ×6, (n, M)
  for (size_t b = 0; b < w_.blocks.size(); ++b) {
    const VisionBlockWeights& bw = w_.blocks[b];
    VAMBA_RETURN_IF_ERROR(
        ops::layer_norm(x, bw.norm1_w, bw.norm1_b, kLayerNormEps, &normed, stream));
    VAMBA_RETURN_IF_ERROR(ops::linear(normed, bw.q_w, bw.q_b, &q, stream));
    VAMBA_RETURN_IF_ERROR(ops::linear(normed, bw.k_w, bw.k_b, &k, stream));
    VAMBA_RETURN_IF_ERROR(ops::linear(normed, bw.v_w, bw.v_b, &v, stream));
    VAMBA_ASSIGN_OR_RETURN(Tensor qh, q.reshape({n, heads, head_dim}));  // (n, heads, D)
    VAMBA_ASSIGN_OR_RETURN(Tensor kh, k.reshape({n, heads, head_dim}));
    VAMBA_ASSIGN_OR_RETURN(Tensor vh, v.reshape({n, heads, head_dim}));
    VAMBA_RETURN_IF_ERROR(ops::apply_rotary(&qh, cos, sin, stream));
    VAMBA_RETURN_IF_ERROR(ops::apply_rotary(&kh, cos, sin, stream));
    if (!attn.defined()) {
      VAMBA_ASSIGN_OR_RETURN(attn, Tensor::empty({n, e}, x.dtype(), x.device()));
    }
    VAMBA_ASSIGN_OR_RETURN(Tensor attn_heads, attn.reshape({n, heads, head_dim}));
    VAMBA_RETURN_IF_ERROR(ops::attention(qh, kh, vh, attn_options, &attn_heads, stream));
    VAMBA_RETURN_IF_ERROR(ops::linear(attn, bw.proj_w, bw.proj_b, &projected, stream));
    VAMBA_RETURN_IF_ERROR(ops::add(x, projected, &x, stream));

    VAMBA_RETURN_IF_ERROR(
        ops::layer_norm(x, bw.norm2_w, bw.norm2_b, kLayerNormEps, &normed, stream));
    VAMBA_RETURN_IF_ERROR(ops::linear(normed, bw.fc1_w, bw.fc1_b, &hidden, stream));
    VAMBA_RETURN_IF_ERROR(ops::quick_gelu(hidden, &hidden, stream));
    VAMBA_RETURN_IF_ERROR(ops::linear(hidden, bw.fc2_w, bw.fc2_b, &projected, stream));
    VAMBA_RETURN_IF_ERROR(ops::add(x, projected, &x, stream));
    report("vision.blocks." + std::to_string(b) + ".out", x, row_offset);
  }

  // Merger: the rows of one 2×2 merge block are consecutive, so concatenating them is a reshape.
  VAMBA_RETURN_IF_ERROR(
      ops::layer_norm(x, w_.merger_ln_w, w_.merger_ln_b, kLayerNormEps, &normed, stream));
  VAMBA_ASSIGN_OR_RETURN(Tensor grouped, normed.reshape({n / group, group * e}));
  Tensor merged;  // (n / 4, 4E)
  VAMBA_RETURN_IF_ERROR(ops::linear(grouped, w_.merger_fc1_w, w_.merger_fc1_b, &merged, stream));
  VAMBA_RETURN_IF_ERROR(ops::gelu(merged, &merged, stream));
  VAMBA_RETURN_IF_ERROR(ops::linear(merged, w_.merger_fc2_w, w_.merger_fc2_b, tokens, stream));
  report("vision_embeds", *tokens, row_offset / group);
  return ok_status();
}

}  // namespace vamba::vision
