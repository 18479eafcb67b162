// The typed configuration of a Vamba-Qwen2-VL checkpoint (config.json) and of its image processor
// (preprocessor_config.json). Absent fields take Vamba's class defaults
// (configuration_qwen2_vl.py), because save_pretrained omits every nested field equal to its
// default. Python's bare Infinity / NaN are accepted.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "engine/core/status.h"

namespace vamba {

struct VisionConfig {
  int depth = 32;
  int embed_dim = 1280;
  int hidden_size = 3584;  // the LM width the merger projects to
  std::string hidden_act = "quick_gelu";
  int mlp_ratio = 4;
  int num_heads = 16;
  int in_channels = 3;
  int patch_size = 14;
  int spatial_merge_size = 2;
  int temporal_patch_size = 2;
};

struct MambaMixerConfig {
  bool enable = false;
  int hidden_dim = 3584;
  std::string norm_type = "rmsnorm";
  bool residual_in_fp32 = false;
  int d_state = 128;
  int d_conv = 4;
  int expand = 2;
  int headdim = 64;
  int d_ssm = -1;  // null in the config: d_ssm = d_inner
  int ngroups = 1;
  std::array<double, 2> A_init_range = {1, 16};
  bool D_has_hdim = false;
  bool rmsnorm = true;
  bool norm_before_gate = false;
  double dt_min = 0.001;
  double dt_max = 0.1;
  double dt_init_floor = 1e-4;
  std::array<double, 2> dt_limit = {0.0, std::numeric_limits<double>::infinity()};
  bool bias = false;
  bool conv_bias = true;
  int chunk_size = 256;
  bool use_mem_eff_path = true;

  int d_inner() const { return expand * hidden_dim; }
  int ssm_dim() const { return d_ssm > 0 ? d_ssm : d_inner(); }
  int nheads() const { return ssm_dim() / headdim; }
  // Width of the gated-MLP half that mamba_ssm splits off when d_ssm < d_inner (0 in Vamba).
  int d_mlp() const { return d_inner() - ssm_dim(); }
  // in_proj output width, as mamba_ssm's Mamba2 builds it: 2·d_inner + 2·ngroups·d_state + nheads,
  // split as [z0 (d_mlp), x0 (d_mlp), z (d_ssm), xBC (d_ssm + 2·ngroups·d_state), dt (nheads)].
  // With d_ssm = d_inner (always in Vamba) that is [z (d_inner), xBC, dt].
  int conv_dim() const { return ssm_dim() + 2 * ngroups * d_state; }
  int in_proj_dim() const { return 2 * d_inner() + 2 * ngroups * d_state + nheads(); }
};

struct VambaConfig {
  std::string model_type = "qwen2_vl";
  int vocab_size = 152064;
  int hidden_size = 3584;
  int intermediate_size = 18944;
  int num_hidden_layers = 28;
  int num_attention_heads = 28;
  int num_key_value_heads = 4;
  double rms_norm_eps = 1e-5;
  double rope_theta = 1e6;
  int max_position_embeddings = 32768;
  std::string hidden_act = "silu";
  std::vector<int> mrope_section = {16, 24, 24};
  std::string rope_type = "mrope";  // "mrope" or "default" (with an mrope_section, as Vamba saves)
  bool tie_word_embeddings = false;
  bool use_alpha_balancing = false;
  bool cross_attn_use_position_embeddings = false;
  bool cross_attn_use_layer_norm = false;
  int bos_token_id = 151643;
  int eos_token_id = 151645;                  // the first of eos_token_ids
  std::vector<int> eos_token_ids = {151645};  // config.json may give one id or a list
  int pad_token_id = 151643;
  int vision_start_token_id = 151652;
  int vision_end_token_id = 151653;
  int vision_token_id = 151654;
  int image_token_id = 151655;
  int video_token_id = 151656;
  // Read for completeness; the engine requires use_sliding_window == false (validate()).
  bool use_sliding_window = false;
  int sliding_window = 4096;
  int max_window_layers = 80;
  double attention_dropout = 0.0;
  double initializer_range = 0.02;
  bool use_cache = true;
  double distill_coeff = 0.0;
  std::vector<std::string> architectures;
  std::string torch_dtype;  // "bfloat16" in real checkpoints; empty when absent
  std::string transformers_version;
  VisionConfig vision;     // "vision_config"
  MambaMixerConfig mamba;  // "vision_mamba_mixer_config"

  int head_dim() const { return hidden_size / num_attention_heads; }

  static StatusOr<VambaConfig> from_json_text(const std::string& text, const std::string& label);
  static StatusOr<VambaConfig> from_file(const std::string& path);
  // Checks internal consistency (head counts divide, mrope_section sums to head_dim / 2, ...).
  Status validate() const;
};

struct PreprocessorConfig {
  bool do_resize = true;
  int resample = 3;  // PIL bicubic
  bool do_rescale = true;
  double rescale_factor = 1.0 / 255.0;
  bool do_normalize = true;
  std::array<double, 3> image_mean = {0.48145466, 0.4578275, 0.40821073};
  std::array<double, 3> image_std = {0.26862954, 0.26130258, 0.27577711};
  int64_t min_pixels = 56 * 56;
  int64_t max_pixels = 28 * 28 * 1280;
  int patch_size = 14;
  int temporal_patch_size = 2;
  int merge_size = 2;
  bool do_convert_rgb = true;

  static StatusOr<PreprocessorConfig> from_json_text(const std::string& text,
                                                     const std::string& label);
  static StatusOr<PreprocessorConfig> from_file(const std::string& path);
};

// Rewrites JSON that may contain Python's bare Infinity, -Infinity and NaN (outside strings) into
// JSON nlohmann parses: each bare token becomes the string "Infinity", "-Infinity" or "NaN" (JSON
// has no such numbers), which the config readers accept wherever a number is expected. Shared by
// every config reader.
StatusOr<std::string> sanitize_python_json(const std::string& text);

}  // namespace vamba
