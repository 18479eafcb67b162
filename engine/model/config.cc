#include "engine/model/config.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include <spdlog/spdlog.h>

namespace vamba {
namespace {

using json = nlohmann::json;

// The largest width (hidden size, heads, state size, ...) a config may name.
constexpr int64_t kMaxWidth = int64_t{1} << 20;

bool is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Reads one object's fields with type checks; every error names the file and the dotted field path.
class FieldReader {
 public:
  FieldReader(const json& obj, std::string label, std::string prefix)
      : obj_(obj), label_(std::move(label)), prefix_(std::move(prefix)) {}

  const json* find(const std::string& key) const {
    auto it = obj_.find(key);
    if (it == obj_.end() || it->is_null()) return nullptr;  // null: the class default
    return &*it;
  }
  bool has(const std::string& key) const { return find(key) != nullptr; }
  std::string path(const std::string& key) const { return prefix_ + key; }

  Status error(const std::string& key, const std::string& what) const {
    return invalid_argument(label_ + ": field '" + path(key) + "' " + what);
  }

  Status read(const std::string& key, int* out) const {
    const json* v = find(key);
    if (v == nullptr) return ok_status();
    if (!v->is_number_integer()) return error(key, "must be an integer, got " + v->dump());
    if (v->is_number_unsigned()
            ? v->get<uint64_t>() > static_cast<uint64_t>(INT32_MAX)
            : (v->get<int64_t>() < INT32_MIN || v->get<int64_t>() > INT32_MAX)) {
      return error(key, "is out of range: " + v->dump());
    }
    *out = v->get<int>();
    return ok_status();
  }
  Status read(const std::string& key, int64_t* out) const {
    const json* v = find(key);
    if (v == nullptr) return ok_status();
    if (!v->is_number_integer() ||
        (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))) {
      return error(key, "must be an integer, got " + v->dump());
    }
    *out = v->get<int64_t>();
    return ok_status();
  }
  Status read(const std::string& key, bool* out) const {
    const json* v = find(key);
    if (v == nullptr) return ok_status();
    if (!v->is_boolean()) return error(key, "must be true or false, got " + v->dump());
    *out = v->get<bool>();
    return ok_status();
  }
  Status read(const std::string& key, std::string* out) const {
    const json* v = find(key);
    if (v == nullptr) return ok_status();
    if (!v->is_string()) return error(key, "must be a string, got " + v->dump());
    *out = v->get<std::string>();
    return ok_status();
  }
  Status read(const std::string& key, double* out) const {
    const json* v = find(key);
    if (v == nullptr) return ok_status();
    return number(*v, key, out);
  }
  template <size_t N>
  Status read(const std::string& key, std::array<double, N>* out) const {
    const json* v = find(key);
    if (v == nullptr) return ok_status();
    if (!v->is_array() || v->size() != N) {
      return error(key, "must be an array of " + std::to_string(N) + " numbers, got " + v->dump());
    }
    for (size_t i = 0; i < N; ++i) VAMBA_RETURN_IF_ERROR(number((*v)[i], key, &(*out)[i]));
    return ok_status();
  }
  Status read(const std::string& key, std::vector<int>* out) const {
    const json* v = find(key);
    if (v == nullptr) return ok_status();
    if (!v->is_array()) return error(key, "must be an array of integers, got " + v->dump());
    std::vector<int> values;
    for (const json& e : *v) {
      if (!e.is_number_integer())
        return error(key, "must be an array of integers, got " + v->dump());
      values.push_back(e.get<int>());
    }
    *out = std::move(values);
    return ok_status();
  }
  Status read(const std::string& key, std::vector<std::string>* out) const {
    const json* v = find(key);
    if (v == nullptr) return ok_status();
    if (!v->is_array()) return error(key, "must be an array of strings, got " + v->dump());
    std::vector<std::string> values;
    for (const json& e : *v) {
      if (!e.is_string()) return error(key, "must be an array of strings, got " + v->dump());
      values.push_back(e.get<std::string>());
    }
    *out = std::move(values);
    return ok_status();
  }

  // A JSON number, or one of the strings sanitize_python_json put where Python wrote a bare token.
  Status number(const json& v, const std::string& key, double* out) const {
    if (v.is_number()) {
      *out = v.get<double>();
      return ok_status();
    }
    if (v.is_string()) {
      const std::string& s = v.get_ref<const std::string&>();
      if (s == "Infinity") {
        *out = std::numeric_limits<double>::infinity();
        return ok_status();
      }
      if (s == "-Infinity") {
        *out = -std::numeric_limits<double>::infinity();
        return ok_status();
      }
      if (s == "NaN") {
        *out = std::numeric_limits<double>::quiet_NaN();
        return ok_status();
      }
    }
    return error(key, "must be a number, got " + v.dump());
  }

 private:
  const json& obj_;
  std::string label_;
  std::string prefix_;
};

StatusOr<json> parse_config_json(const std::string& text, const std::string& label) {
  VAMBA_ASSIGN_OR_RETURN(std::string clean, sanitize_python_json(text));
  json j;
  try {
    j = json::parse(clean);
  } catch (const json::exception& e) {
    return invalid_argument(label + ": malformed JSON: " + e.what());
  }
  if (!j.is_object()) return invalid_argument(label + ": not a JSON object");
  return j;
}

StatusOr<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found(path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return internal_error(path + ": read failed");
  return ss.str();
}

Status parse_vision(const FieldReader& r, VisionConfig* v) {
  VAMBA_RETURN_IF_ERROR(r.read("depth", &v->depth));
  VAMBA_RETURN_IF_ERROR(r.read("embed_dim", &v->embed_dim));
  VAMBA_RETURN_IF_ERROR(r.read("hidden_size", &v->hidden_size));
  VAMBA_RETURN_IF_ERROR(r.read("hidden_act", &v->hidden_act));
  VAMBA_RETURN_IF_ERROR(r.read("mlp_ratio", &v->mlp_ratio));
  VAMBA_RETURN_IF_ERROR(r.read("num_heads", &v->num_heads));
  VAMBA_RETURN_IF_ERROR(r.read("in_channels", &v->in_channels));
  VAMBA_RETURN_IF_ERROR(r.read("patch_size", &v->patch_size));
  VAMBA_RETURN_IF_ERROR(r.read("spatial_merge_size", &v->spatial_merge_size));
  VAMBA_RETURN_IF_ERROR(r.read("temporal_patch_size", &v->temporal_patch_size));
  return ok_status();
}

Status parse_mamba(const FieldReader& r, MambaMixerConfig* m) {
  VAMBA_RETURN_IF_ERROR(r.read("enable", &m->enable));
  VAMBA_RETURN_IF_ERROR(r.read("hidden_dim", &m->hidden_dim));
  VAMBA_RETURN_IF_ERROR(r.read("norm_type", &m->norm_type));
  VAMBA_RETURN_IF_ERROR(r.read("residual_in_fp32", &m->residual_in_fp32));
  VAMBA_RETURN_IF_ERROR(r.read("d_state", &m->d_state));
  VAMBA_RETURN_IF_ERROR(r.read("d_conv", &m->d_conv));
  VAMBA_RETURN_IF_ERROR(r.read("expand", &m->expand));
  VAMBA_RETURN_IF_ERROR(r.read("headdim", &m->headdim));
  VAMBA_RETURN_IF_ERROR(r.read("d_ssm", &m->d_ssm));  // null: d_inner
  VAMBA_RETURN_IF_ERROR(r.read("ngroups", &m->ngroups));
  VAMBA_RETURN_IF_ERROR(r.read("A_init_range", &m->A_init_range));
  VAMBA_RETURN_IF_ERROR(r.read("D_has_hdim", &m->D_has_hdim));
  VAMBA_RETURN_IF_ERROR(r.read("rmsnorm", &m->rmsnorm));
  VAMBA_RETURN_IF_ERROR(r.read("norm_before_gate", &m->norm_before_gate));
  VAMBA_RETURN_IF_ERROR(r.read("dt_min", &m->dt_min));
  VAMBA_RETURN_IF_ERROR(r.read("dt_max", &m->dt_max));
  VAMBA_RETURN_IF_ERROR(r.read("dt_init_floor", &m->dt_init_floor));
  VAMBA_RETURN_IF_ERROR(r.read("dt_limit", &m->dt_limit));
  VAMBA_RETURN_IF_ERROR(r.read("bias", &m->bias));
  VAMBA_RETURN_IF_ERROR(r.read("conv_bias", &m->conv_bias));
  VAMBA_RETURN_IF_ERROR(r.read("chunk_size", &m->chunk_size));
  VAMBA_RETURN_IF_ERROR(r.read("use_mem_eff_path", &m->use_mem_eff_path));
  // conv_init, process_group, sequence_parallel, rescale_prenorm_residual: training-time only.
  return ok_status();
}

// rope_scaling: {type: mrope, mrope_section} as the original config writes it, or
// {type: default, rope_type: default, mrope_section} as Vamba's __init__ rewrites it before
// save_pretrained: both are M-RoPE with that section.
Status parse_rope_scaling(const json& j, const std::string& label, VambaConfig* c) {
  auto it = j.find("rope_scaling");
  if (it == j.end() || it->is_null()) {
    // Without a section the model has plain RoPE. Text positions are equal in all three M-RoPE
    // sections, so a single section spanning head_dim / 2 is the same function.
    c->rope_type = "default";
    if (c->num_attention_heads <= 0) return ok_status();  // validate() reports it
    const int half = c->head_dim() / 2;
    int sum = 0;
    for (int s : c->mrope_section) sum += s;
    if (sum != half) c->mrope_section = {half, 0, 0};
    return ok_status();
  }
  if (!it->is_object()) {
    return invalid_argument(label + ": field 'rope_scaling' must be an object, got " + it->dump());
  }
  FieldReader r(*it, label, "rope_scaling.");
  std::string type, rope_type;
  VAMBA_RETURN_IF_ERROR(r.read("type", &type));
  VAMBA_RETURN_IF_ERROR(r.read("rope_type", &rope_type));
  if (type.empty()) type = rope_type;
  if (type.empty()) return r.error("type", "is missing");
  if (!rope_type.empty() && rope_type != type && !(type == "mrope" || rope_type == "mrope")) {
    return r.error("rope_type", "'" + rope_type + "' disagrees with type '" + type + "'");
  }
  if (type != "mrope" && type != "default") {
    return unimplemented(label + ": rope_scaling type '" + type +
                         "' is not supported (only mrope, or default with an mrope_section)");
  }
  if (!r.has("mrope_section")) return r.error("mrope_section", "is missing");
  VAMBA_RETURN_IF_ERROR(r.read("mrope_section", &c->mrope_section));
  c->rope_type = type;
  return ok_status();
}

}  // namespace

StatusOr<std::string> sanitize_python_json(const std::string& text) {
  std::string out;
  out.reserve(text.size() + 16);
  bool in_string = false;
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < text.size()) {
        out.push_back(text[i + 1]);
        i += 2;
        continue;
      }
      if (c == '"') in_string = false;
      ++i;
      continue;
    }
    if (c == '"') {
      in_string = true;
      out.push_back(c);
      ++i;
      continue;
    }
    // A bare token only where a value starts: not inside a longer identifier or number.
    const bool at_token_start = out.empty() || !is_ident_char(out.back());
    auto match = [&](const char* word) {
      const size_t n = std::strlen(word);
      return text.compare(i, n, word) == 0 && (i + n >= text.size() || !is_ident_char(text[i + n]));
    };
    if (at_token_start) {
      if (c == '-' && match("-Infinity")) {
        out += "\"-Infinity\"";
        i += 9;
        continue;
      }
      if (match("Infinity")) {
        out += "\"Infinity\"";
        i += 8;
        continue;
      }
      if (match("NaN")) {
        out += "\"NaN\"";
        i += 3;
        continue;
      }
    }
    out.push_back(c);
    ++i;
  }
  if (in_string) return invalid_argument("malformed JSON: unterminated string");
  return out;
}

StatusOr<VambaConfig> VambaConfig::from_json_text(const std::string& text,
                                                  const std::string& label) {
  VAMBA_ASSIGN_OR_RETURN(json j, parse_config_json(text, label));
  VambaConfig c;
  FieldReader r(j, label, "");
  if (!r.has("model_type")) return invalid_argument(label + ": no model_type (not a model config)");
  VAMBA_RETURN_IF_ERROR(r.read("model_type", &c.model_type));
  if (c.model_type != "qwen2_vl") {
    return invalid_argument(label + ": model_type '" + c.model_type +
                            "' is not a Vamba-Qwen2-VL checkpoint (expected 'qwen2_vl')");
  }
  VAMBA_RETURN_IF_ERROR(r.read("vocab_size", &c.vocab_size));
  VAMBA_RETURN_IF_ERROR(r.read("hidden_size", &c.hidden_size));
  VAMBA_RETURN_IF_ERROR(r.read("intermediate_size", &c.intermediate_size));
  VAMBA_RETURN_IF_ERROR(r.read("num_hidden_layers", &c.num_hidden_layers));
  VAMBA_RETURN_IF_ERROR(r.read("num_attention_heads", &c.num_attention_heads));
  // Qwen2 falls back to num_attention_heads (MHA) when num_key_value_heads is absent.
  c.num_key_value_heads = c.num_attention_heads;
  if (!r.has("num_key_value_heads") && !r.has("num_attention_heads")) {
    c.num_key_value_heads = VambaConfig().num_key_value_heads;
  }
  VAMBA_RETURN_IF_ERROR(r.read("num_key_value_heads", &c.num_key_value_heads));
  VAMBA_RETURN_IF_ERROR(r.read("rms_norm_eps", &c.rms_norm_eps));
  VAMBA_RETURN_IF_ERROR(r.read("rope_theta", &c.rope_theta));
  VAMBA_RETURN_IF_ERROR(r.read("max_position_embeddings", &c.max_position_embeddings));
  VAMBA_RETURN_IF_ERROR(r.read("hidden_act", &c.hidden_act));
  VAMBA_RETURN_IF_ERROR(r.read("tie_word_embeddings", &c.tie_word_embeddings));
  VAMBA_RETURN_IF_ERROR(r.read("use_alpha_balancing", &c.use_alpha_balancing));
  VAMBA_RETURN_IF_ERROR(
      r.read("cross_attn_use_position_embeddings", &c.cross_attn_use_position_embeddings));
  VAMBA_RETURN_IF_ERROR(r.read("cross_attn_use_layer_norm", &c.cross_attn_use_layer_norm));
  VAMBA_RETURN_IF_ERROR(r.read("use_sliding_window", &c.use_sliding_window));
  VAMBA_RETURN_IF_ERROR(r.read("sliding_window", &c.sliding_window));
  VAMBA_RETURN_IF_ERROR(r.read("max_window_layers", &c.max_window_layers));
  VAMBA_RETURN_IF_ERROR(r.read("attention_dropout", &c.attention_dropout));
  VAMBA_RETURN_IF_ERROR(r.read("initializer_range", &c.initializer_range));
  VAMBA_RETURN_IF_ERROR(r.read("use_cache", &c.use_cache));
  VAMBA_RETURN_IF_ERROR(r.read("distill_coeff", &c.distill_coeff));
  VAMBA_RETURN_IF_ERROR(r.read("architectures", &c.architectures));
  VAMBA_RETURN_IF_ERROR(r.read("torch_dtype", &c.torch_dtype));
  VAMBA_RETURN_IF_ERROR(r.read("transformers_version", &c.transformers_version));
  VAMBA_RETURN_IF_ERROR(r.read("bos_token_id", &c.bos_token_id));
  // eos_token_id may be one id or a list of them (the first is the primary one).
  if (const json* eos = r.find("eos_token_id"); eos != nullptr && eos->is_array()) {
    VAMBA_RETURN_IF_ERROR(r.read("eos_token_id", &c.eos_token_ids));
    if (c.eos_token_ids.empty()) return r.error("eos_token_id", "is an empty list");
    c.eos_token_id = c.eos_token_ids.front();
  } else {
    VAMBA_RETURN_IF_ERROR(r.read("eos_token_id", &c.eos_token_id));
    c.eos_token_ids = {c.eos_token_id};
  }
  VAMBA_RETURN_IF_ERROR(r.read("pad_token_id", &c.pad_token_id));
  VAMBA_RETURN_IF_ERROR(r.read("vision_start_token_id", &c.vision_start_token_id));
  VAMBA_RETURN_IF_ERROR(r.read("vision_end_token_id", &c.vision_end_token_id));
  VAMBA_RETURN_IF_ERROR(r.read("vision_token_id", &c.vision_token_id));
  VAMBA_RETURN_IF_ERROR(r.read("image_token_id", &c.image_token_id));
  VAMBA_RETURN_IF_ERROR(r.read("video_token_id", &c.video_token_id));

  for (const char* nested : {"vision_config", "vision_mamba_mixer_config"}) {
    const json* obj = r.find(nested);
    if (obj == nullptr) continue;
    if (!obj->is_object()) return r.error(nested, "must be an object, got " + obj->dump());
    FieldReader nr(*obj, label, std::string(nested) + ".");
    if (std::string(nested) == "vision_config") {
      VAMBA_RETURN_IF_ERROR(parse_vision(nr, &c.vision));
    } else {
      VAMBA_RETURN_IF_ERROR(parse_mamba(nr, &c.mamba));
    }
  }
  VAMBA_RETURN_IF_ERROR(parse_rope_scaling(j, label, &c));
  VAMBA_RETURN_IF_ERROR(c.validate().with_context(label));
  return c;
}

StatusOr<VambaConfig> VambaConfig::from_file(const std::string& path) {
  VAMBA_ASSIGN_OR_RETURN(std::string text, read_file(path));
  return from_json_text(text, path);
}

Status VambaConfig::validate() const {
  auto bad = [](const std::string& m) { return invalid_argument("invalid config: " + m); };
  // Consistent settings the engine does not implement.
  auto unsupported = [](const std::string& m) { return unimplemented("unsupported config: " + m); };
  // Sizes must be positive and below bounds no real model reaches, so that derived widths
  // (products of sizes, computed in int) cannot overflow and tables cannot explode.
  auto positive = [&](const char* name, int64_t v, int64_t limit = kMaxWidth) -> Status {
    if (v <= 0) return bad(std::string(name) + " must be positive, got " + std::to_string(v));
    if (v > limit) {
      return bad(std::string(name) + " " + std::to_string(v) + " is absurd (limit " +
                 std::to_string(limit) + ")");
    }
    return ok_status();
  };
  VAMBA_RETURN_IF_ERROR(positive("vocab_size", vocab_size, int64_t{1} << 24));
  VAMBA_RETURN_IF_ERROR(positive("hidden_size", hidden_size));
  VAMBA_RETURN_IF_ERROR(positive("intermediate_size", intermediate_size));
  VAMBA_RETURN_IF_ERROR(positive("num_hidden_layers", num_hidden_layers, 4096));
  VAMBA_RETURN_IF_ERROR(positive("num_attention_heads", num_attention_heads));
  VAMBA_RETURN_IF_ERROR(positive("num_key_value_heads", num_key_value_heads));
  VAMBA_RETURN_IF_ERROR(
      positive("max_position_embeddings", max_position_embeddings, int64_t{1} << 30));
  if (hidden_size % num_attention_heads != 0) {
    return bad("num_attention_heads " + std::to_string(num_attention_heads) +
               " does not divide hidden_size " + std::to_string(hidden_size));
  }
  if (num_attention_heads % num_key_value_heads != 0) {
    return bad("num_key_value_heads " + std::to_string(num_key_value_heads) +
               " does not divide num_attention_heads " + std::to_string(num_attention_heads));
  }
  if (head_dim() % 2 != 0) return bad("head_dim " + std::to_string(head_dim()) + " is odd");
  if (!(rms_norm_eps > 0) || !std::isfinite(rms_norm_eps)) {
    return bad("rms_norm_eps must be positive and finite");
  }
  if (!(rope_theta > 0) || !std::isfinite(rope_theta)) {
    return bad("rope_theta must be positive and finite");
  }
  if (hidden_act != "silu")
    return unsupported("hidden_act '" + hidden_act + "' is not supported (silu)");
  if (use_sliding_window) return unsupported("use_sliding_window is not supported");
  if (mrope_section.size() != 3) {
    return bad("rope_scaling.mrope_section must have 3 entries, got " +
               std::to_string(mrope_section.size()));
  }
  int64_t sum = 0;
  for (int s : mrope_section) {
    if (s < 0) return bad("rope_scaling.mrope_section has a negative entry");
    sum += s;
  }
  if (sum != head_dim() / 2) {
    return bad("rope_scaling.mrope_section sums to " + std::to_string(sum) +
               ", not head_dim / 2 = " + std::to_string(head_dim() / 2));
  }
  if (rope_type != "mrope" && rope_type != "default") {
    return bad("rope_type '" + rope_type + "' is not supported");
  }
  if (cross_attn_use_position_embeddings) {
    return unsupported("cross_attn_use_position_embeddings=true is not supported");
  }
  if (cross_attn_use_layer_norm)
    return unsupported("cross_attn_use_layer_norm=true is not supported");

  // Vision tower.
  VAMBA_RETURN_IF_ERROR(positive("vision_config.depth", vision.depth, 4096));
  VAMBA_RETURN_IF_ERROR(positive("vision_config.embed_dim", vision.embed_dim));
  VAMBA_RETURN_IF_ERROR(positive("vision_config.hidden_size", vision.hidden_size));
  VAMBA_RETURN_IF_ERROR(positive("vision_config.mlp_ratio", vision.mlp_ratio, 64));
  VAMBA_RETURN_IF_ERROR(positive("vision_config.num_heads", vision.num_heads));
  VAMBA_RETURN_IF_ERROR(positive("vision_config.in_channels", vision.in_channels, 64));
  VAMBA_RETURN_IF_ERROR(positive("vision_config.patch_size", vision.patch_size, 1024));
  VAMBA_RETURN_IF_ERROR(
      positive("vision_config.spatial_merge_size", vision.spatial_merge_size, 64));
  VAMBA_RETURN_IF_ERROR(
      positive("vision_config.temporal_patch_size", vision.temporal_patch_size, 64));
  if (vision.embed_dim % vision.num_heads != 0) {
    return bad("vision_config.num_heads " + std::to_string(vision.num_heads) +
               " does not divide embed_dim " + std::to_string(vision.embed_dim));
  }
  if ((vision.embed_dim / vision.num_heads) % 4 != 0) {
    return bad("vision head_dim must be a multiple of 4 (2-D rotary)");
  }
  if (vision.hidden_size != hidden_size) {
    return bad("vision_config.hidden_size " + std::to_string(vision.hidden_size) +
               " differs from the LM hidden_size " + std::to_string(hidden_size));
  }
  if (vision.hidden_act != "quick_gelu") {
    return unsupported("vision_config.hidden_act '" + vision.hidden_act +
                       "' is not supported (quick_gelu)");
  }

  // Mamba-2 mixer.
  if (mamba.enable) {
    VAMBA_RETURN_IF_ERROR(positive("vision_mamba_mixer_config.hidden_dim", mamba.hidden_dim));
    VAMBA_RETURN_IF_ERROR(positive("vision_mamba_mixer_config.d_state", mamba.d_state));
    VAMBA_RETURN_IF_ERROR(positive("vision_mamba_mixer_config.d_conv", mamba.d_conv));
    VAMBA_RETURN_IF_ERROR(positive("vision_mamba_mixer_config.expand", mamba.expand, 64));
    VAMBA_RETURN_IF_ERROR(positive("vision_mamba_mixer_config.headdim", mamba.headdim));
    VAMBA_RETURN_IF_ERROR(positive("vision_mamba_mixer_config.ngroups", mamba.ngroups));
    VAMBA_RETURN_IF_ERROR(positive("vision_mamba_mixer_config.chunk_size", mamba.chunk_size));
    if (mamba.hidden_dim != hidden_size) {
      return bad("vision_mamba_mixer_config.hidden_dim " + std::to_string(mamba.hidden_dim) +
                 " differs from hidden_size " + std::to_string(hidden_size));
    }
    const int64_t d_inner = int64_t{mamba.expand} * mamba.hidden_dim;
    const int64_t bc = 2 * int64_t{mamba.ngroups} * mamba.d_state;
    if (d_inner > kMaxWidth * 8 || bc > kMaxWidth * 8) {
      return bad("vision_mamba_mixer_config widths are absurd (d_inner " + std::to_string(d_inner) +
                 ", 2·ngroups·d_state " + std::to_string(bc) + ")");
    }
    if (mamba.d_ssm != -1 && mamba.d_ssm <= 0) {
      return bad("vision_mamba_mixer_config.d_ssm must be positive or null");
    }
    if (mamba.ssm_dim() > mamba.d_inner()) {
      return bad("vision_mamba_mixer_config.d_ssm " + std::to_string(mamba.ssm_dim()) +
                 " exceeds d_inner " + std::to_string(mamba.d_inner()));
    }
    if (mamba.ssm_dim() % mamba.headdim != 0) {
      return bad("vision_mamba_mixer_config.headdim " + std::to_string(mamba.headdim) +
                 " does not divide d_ssm " + std::to_string(mamba.ssm_dim()));
    }
    if (mamba.nheads() % mamba.ngroups != 0) {
      return bad("vision_mamba_mixer_config.ngroups " + std::to_string(mamba.ngroups) +
                 " does not divide nheads " + std::to_string(mamba.nheads()));
    }
    if (mamba.norm_type != "rmsnorm" && mamba.norm_type != "layernorm") {
      return bad("vision_mamba_mixer_config.norm_type '" + mamba.norm_type + "' is not supported");
    }
    if (std::isnan(mamba.dt_limit[0]) || std::isnan(mamba.dt_limit[1]) ||
        mamba.dt_limit[0] > mamba.dt_limit[1]) {
      return bad("vision_mamba_mixer_config.dt_limit must be [low, high] with low <= high");
    }
  }
  return ok_status();
}

StatusOr<PreprocessorConfig> PreprocessorConfig::from_json_text(const std::string& text,
                                                                const std::string& label) {
  VAMBA_ASSIGN_OR_RETURN(json j, parse_config_json(text, label));
  PreprocessorConfig p;
  FieldReader r(j, label, "");
  VAMBA_RETURN_IF_ERROR(r.read("do_resize", &p.do_resize));
  VAMBA_RETURN_IF_ERROR(r.read("resample", &p.resample));
  VAMBA_RETURN_IF_ERROR(r.read("do_rescale", &p.do_rescale));
  VAMBA_RETURN_IF_ERROR(r.read("rescale_factor", &p.rescale_factor));
  VAMBA_RETURN_IF_ERROR(r.read("do_normalize", &p.do_normalize));
  VAMBA_RETURN_IF_ERROR(r.read("image_mean", &p.image_mean));
  VAMBA_RETURN_IF_ERROR(r.read("image_std", &p.image_std));
  VAMBA_RETURN_IF_ERROR(r.read("patch_size", &p.patch_size));
  VAMBA_RETURN_IF_ERROR(r.read("temporal_patch_size", &p.temporal_patch_size));
  VAMBA_RETURN_IF_ERROR(r.read("merge_size", &p.merge_size));
  VAMBA_RETURN_IF_ERROR(r.read("do_convert_rgb", &p.do_convert_rgb));
  // min/max pixels: top level (transformers 4.4x reads these), else under "size" (newer versions
  // save only size.{min_pixels,max_pixels} or size.{shortest_edge,longest_edge}).
  if (const json* size = r.find("size"); size != nullptr) {
    if (!size->is_object()) return r.error("size", "must be an object, got " + size->dump());
    FieldReader sr(*size, label, "size.");
    VAMBA_RETURN_IF_ERROR(sr.read("shortest_edge", &p.min_pixels));
    VAMBA_RETURN_IF_ERROR(sr.read("longest_edge", &p.max_pixels));
    VAMBA_RETURN_IF_ERROR(sr.read("min_pixels", &p.min_pixels));
    VAMBA_RETURN_IF_ERROR(sr.read("max_pixels", &p.max_pixels));
  }
  const int64_t size_min = p.min_pixels, size_max = p.max_pixels;
  VAMBA_RETURN_IF_ERROR(r.read("min_pixels", &p.min_pixels));
  VAMBA_RETURN_IF_ERROR(r.read("max_pixels", &p.max_pixels));
  if (r.has("size") && (size_min != p.min_pixels || size_max != p.max_pixels)) {
    spdlog::warn("{}: top-level min/max_pixels ({}, {}) differ from size ({}, {}); using top-level",
                 label, p.min_pixels, p.max_pixels, size_min, size_max);
  }
  auto bad = [&](const std::string& m) { return invalid_argument(label + ": " + m); };
  if (p.min_pixels <= 0 || p.max_pixels < p.min_pixels) {
    return bad("need 0 < min_pixels <= max_pixels, got " + std::to_string(p.min_pixels) + ", " +
               std::to_string(p.max_pixels));
  }
  if (p.patch_size <= 0 || p.temporal_patch_size <= 0 || p.merge_size <= 0) {
    return bad("patch_size, temporal_patch_size and merge_size must be positive");
  }
  for (double s : p.image_std) {
    if (!(s > 0)) return bad("image_std must be positive");
  }
  return p;
}

StatusOr<PreprocessorConfig> PreprocessorConfig::from_file(const std::string& path) {
  VAMBA_ASSIGN_OR_RETURN(std::string text, read_file(path));
  return from_json_text(text, path);
}

}  // namespace vamba
