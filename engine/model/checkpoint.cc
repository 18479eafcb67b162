#include "engine/model/checkpoint.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <set>

namespace vamba {
namespace {

bool is_float_dtype(DType d) {
  return d == DType::kBF16 || d == DType::kF16 || d == DType::kF32 || d == DType::kF64;
}

void add(std::vector<WeightSpec>* table, std::string name, Shape shape, bool required = true) {
  table->push_back({std::move(name), std::move(shape), required});
}

// The Qwen2-VL vision tower: patch embedding, `depth` blocks, the 2×2 patch merger.
void add_vision(const VisionConfig& v, std::vector<WeightSpec>* t) {
  const int64_t e = v.embed_dim;
  const int64_t mlp = e * v.mlp_ratio;
  const int64_t merged = e * v.spatial_merge_size * v.spatial_merge_size;
  // Conv3d weight (out, in, kt, kh, kw); kernel = stride, so one matrix product per patch.
  add(t, "visual.patch_embed.proj.weight",
      {e, v.in_channels, v.temporal_patch_size, v.patch_size, v.patch_size});
  for (int b = 0; b < v.depth; ++b) {
    for (const char* norm : {"norm1", "norm2"}) {
      add(t, vision_block_weight(b, std::string(norm) + ".weight"), {e});
      add(t, vision_block_weight(b, std::string(norm) + ".bias"), {e});
    }
    add(t, vision_block_weight(b, "attn.qkv.weight"), {3 * e, e});
    add(t, vision_block_weight(b, "attn.qkv.bias"), {3 * e});
    add(t, vision_block_weight(b, "attn.proj.weight"), {e, e});
    add(t, vision_block_weight(b, "attn.proj.bias"), {e});
    add(t, vision_block_weight(b, "mlp.fc1.weight"), {mlp, e});
    add(t, vision_block_weight(b, "mlp.fc1.bias"), {mlp});
    add(t, vision_block_weight(b, "mlp.fc2.weight"), {e, mlp});
    add(t, vision_block_weight(b, "mlp.fc2.bias"), {e});
  }
  add(t, "visual.merger.ln_q.weight", {e});
  add(t, "visual.merger.ln_q.bias", {e});
  add(t, "visual.merger.mlp.0.weight", {merged, merged});
  add(t, "visual.merger.mlp.0.bias", {merged});
  add(t, "visual.merger.mlp.2.weight", {v.hidden_size, merged});
  add(t, "visual.merger.mlp.2.bias", {v.hidden_size});
}

// q/k/v with bias, o without: the Qwen2 attention layout, shared by self- and cross-attention.
void add_attention(int l, const std::string& which, const VambaConfig& c,
                   std::vector<WeightSpec>* t) {
  const int64_t h = c.hidden_size;
  const int64_t q = int64_t{c.num_attention_heads} * c.head_dim();
  const int64_t kv = int64_t{c.num_key_value_heads} * c.head_dim();
  add(t, layer_weight(l, which + ".q_proj.weight"), {q, h});
  add(t, layer_weight(l, which + ".q_proj.bias"), {q});
  add(t, layer_weight(l, which + ".k_proj.weight"), {kv, h});
  add(t, layer_weight(l, which + ".k_proj.bias"), {kv});
  add(t, layer_weight(l, which + ".v_proj.weight"), {kv, h});
  add(t, layer_weight(l, which + ".v_proj.bias"), {kv});
  add(t, layer_weight(l, which + ".o_proj.weight"), {h, q});
}

// The block around mamba_ssm's Mamba2 that updates the video tokens: pre-norm + mixer.
void add_vision_mixer(int l, const MambaMixerConfig& m, std::vector<WeightSpec>* t) {
  const int64_t d = m.hidden_dim;
  const int64_t nheads = m.nheads();
  add(t, layer_weight(l, "vision_mixer.norm.weight"), {d});
  if (m.norm_type == "layernorm") add(t, layer_weight(l, "vision_mixer.norm.bias"), {d});
  const std::string p = "vision_mixer.mixer.";
  add(t, layer_weight(l, p + "dt_bias"), {nheads});
  add(t, layer_weight(l, p + "A_log"), {nheads});
  add(t, layer_weight(l, p + "D"), {m.D_has_hdim ? int64_t{m.ssm_dim()} : nheads});
  add(t, layer_weight(l, p + "in_proj.weight"), {m.in_proj_dim(), d});
  if (m.bias) add(t, layer_weight(l, p + "in_proj.bias"), {m.in_proj_dim()});
  // Depthwise: (channels, 1, width).
  add(t, layer_weight(l, p + "conv1d.weight"), {m.conv_dim(), 1, m.d_conv});
  if (m.conv_bias) add(t, layer_weight(l, p + "conv1d.bias"), {m.conv_dim()});
  if (m.rmsnorm) add(t, layer_weight(l, p + "norm.weight"), {m.ssm_dim()});
  add(t, layer_weight(l, p + "out_proj.weight"), {d, m.d_inner()});
  if (m.bias) add(t, layer_weight(l, p + "out_proj.bias"), {d});
}

}  // namespace

std::string layer_weight(int layer, const std::string& suffix) {
  return "model.layers." + std::to_string(layer) + "." + suffix;
}

std::string vision_block_weight(int block, const std::string& suffix) {
  return "visual.blocks." + std::to_string(block) + "." + suffix;
}

std::vector<WeightSpec> weight_table(const VambaConfig& c) {
  std::vector<WeightSpec> t;
  add_vision(c.vision, &t);
  const int64_t h = c.hidden_size;
  add(&t, "model.embed_tokens.weight", {c.vocab_size, h});
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    if (c.use_alpha_balancing) add(&t, layer_weight(l, "alpha"), {1});
    add_attention(l, "self_attn", c, &t);
    add_attention(l, "cross_attn", c, &t);
    add(&t, layer_weight(l, "mlp.gate_proj.weight"), {c.intermediate_size, h});
    add(&t, layer_weight(l, "mlp.up_proj.weight"), {c.intermediate_size, h});
    add(&t, layer_weight(l, "mlp.down_proj.weight"), {h, c.intermediate_size});
    add(&t, layer_weight(l, "input_layernorm.weight"), {h});
    add(&t, layer_weight(l, "post_attention_layernorm.weight"), {h});
    if (c.mamba.enable) add_vision_mixer(l, c.mamba, &t);
  }
  add(&t, "model.norm.weight", {h});
  // Tied embeddings: the head reuses model.embed_tokens.weight when lm_head.weight is absent.
  add(&t, "lm_head.weight", {c.vocab_size, h}, /*required=*/!c.tie_word_embeddings);
  return t;
}

StatusOr<Checkpoint> Checkpoint::open(const std::string& dir) {
  Checkpoint ck;
  ck.dir = dir;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return not_found(dir + ": checkpoint folder does not exist");
  }
  VAMBA_ASSIGN_OR_RETURN(ck.config, VambaConfig::from_file(dir + "/config.json"));
  const std::string pre_path = dir + "/preprocessor_config.json";
  if (std::filesystem::is_regular_file(pre_path, ec)) {
    VAMBA_ASSIGN_OR_RETURN(ck.preprocessor, PreprocessorConfig::from_file(pre_path));
  }
  VAMBA_ASSIGN_OR_RETURN(ck.store, TensorStore::open_checkpoint(dir));

  const std::vector<WeightSpec> table = weight_table(ck.config);
  std::set<std::string> in_table;
  for (const WeightSpec& spec : table) {
    in_table.insert(spec.name);
    const SafetensorsEntry* entry = ck.store.find(spec.name);
    if (entry == nullptr) {
      if (!spec.required) continue;
      return not_found(dir + ": required tensor '" + spec.name + "' " +
                       shape_to_string(spec.shape) + " is missing from " +
                       ck.store.file_of(spec.name) + " (is this a Vamba-Qwen2-VL checkpoint?)");
    }
    const std::string file = ck.store.file_of(spec.name);
    if (entry->shape != spec.shape) {
      return invalid_argument(file + ": tensor '" + spec.name + "' has shape " +
                              shape_to_string(entry->shape) + ", expected " +
                              shape_to_string(spec.shape) + " from config.json");
    }
    if (!is_float_dtype(entry->dtype)) {
      return invalid_argument(file + ": tensor '" + spec.name + "' has dtype " +
                              dtype_name(entry->dtype) + ", expected a floating dtype");
    }
    VAMBA_ASSIGN_OR_RETURN(Tensor t, ck.store.get(spec.name));
    ck.weights.emplace(spec.name, std::move(t));
  }
  for (const std::string& name : ck.store.names()) {
    if (!in_table.count(name)) ck.unused.push_back(name);
  }
  if (!ck.unused.empty()) {
    std::string list;
    for (size_t i = 0; i < ck.unused.size() && i < 8; ++i) list += (i ? ", " : "") + ck.unused[i];
    if (ck.unused.size() > 8) list += ", ...";
    spdlog::warn("{}: {} checkpoint tensor(s) not used by the model: {}", dir, ck.unused.size(),
                 list);
  }
  return ck;
}

StatusOr<Tensor> Checkpoint::weight(const std::string& name) const {
  auto it = weights.find(name);
  if (it == weights.end()) {
    return not_found(dir + ": no weight '" + name + "' (absent optional or not in the table)");
  }
  return it->second;
}

StatusOr<Tensor> Checkpoint::lm_head() const {
  auto it = weights.find("lm_head.weight");
  if (it != weights.end()) return it->second;
  if (config.tie_word_embeddings) return weight("model.embed_tokens.weight");
  return not_found(dir + ": no lm_head.weight and tie_word_embeddings is false");
}

}  // namespace vamba
