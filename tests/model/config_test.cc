// config.json and preprocessor_config.json: the golden config, save_pretrained-style configs with
// defaults dropped, Python's bare Infinity/NaN, rope_scaling forms, and validation errors.
#include "engine/model/config.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>

#include "tests/model/model_test_util.h"
#include "tests/testing/golden.h"

namespace vamba {
namespace {

using json = nlohmann::json;
using testing::golden_path;

json golden_config_json() {
  auto text = sanitize_python_json(testing::read_bytes(golden_path("vamba-tiny/config.json")));
  EXPECT_TRUE(text.ok());
  return json::parse(text.value());
}

StatusOr<VambaConfig> parse(const json& j) { return VambaConfig::from_json_text(j.dump(), "cfg"); }

void expect_error(const Status& s, StatusCode code, const std::vector<std::string>& parts) {
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), code) << s.to_string();
  for (const auto& p : parts) {
    EXPECT_NE(s.message().find(p), std::string::npos) << "lacks '" << p << "': " << s.to_string();
  }
}

double num(const json& v) {
  if (v.is_string() && v.get<std::string>() == "Infinity") return INFINITY;
  return v.get<double>();
}

// Every field of the golden config.json, read back through the typed struct, equals the JSON.
void expect_matches_golden_json(const VambaConfig& c, const json& j) {
  EXPECT_EQ(c.model_type, j["model_type"]);
  EXPECT_EQ(c.vocab_size, j["vocab_size"]);
  EXPECT_EQ(c.hidden_size, j["hidden_size"]);
  EXPECT_EQ(c.intermediate_size, j["intermediate_size"]);
  EXPECT_EQ(c.num_hidden_layers, j["num_hidden_layers"]);
  EXPECT_EQ(c.num_attention_heads, j["num_attention_heads"]);
  EXPECT_EQ(c.num_key_value_heads, j["num_key_value_heads"]);
  EXPECT_EQ(c.rms_norm_eps, j["rms_norm_eps"].get<double>());
  EXPECT_EQ(c.rope_theta, j["rope_theta"].get<double>());
  EXPECT_EQ(c.max_position_embeddings, j["max_position_embeddings"]);
  EXPECT_EQ(c.hidden_act, j["hidden_act"]);
  EXPECT_EQ(c.mrope_section, j["rope_scaling"]["mrope_section"].get<std::vector<int>>());
  EXPECT_EQ(c.tie_word_embeddings, j["tie_word_embeddings"]);
  EXPECT_EQ(c.use_alpha_balancing, j["use_alpha_balancing"]);
  EXPECT_EQ(c.cross_attn_use_position_embeddings, j["cross_attn_use_position_embeddings"]);
  EXPECT_EQ(c.cross_attn_use_layer_norm, j["cross_attn_use_layer_norm"]);
  EXPECT_EQ(c.use_sliding_window, j["use_sliding_window"]);
  EXPECT_EQ(c.sliding_window, j["sliding_window"]);
  EXPECT_EQ(c.max_window_layers, j["max_window_layers"]);
  EXPECT_EQ(c.attention_dropout, j["attention_dropout"].get<double>());
  EXPECT_EQ(c.initializer_range, j["initializer_range"].get<double>());
  EXPECT_EQ(c.use_cache, j["use_cache"]);
  EXPECT_EQ(c.distill_coeff, j["distill_coeff"].get<double>());
  EXPECT_EQ(c.architectures, j["architectures"].get<std::vector<std::string>>());
  EXPECT_EQ(c.torch_dtype, j["torch_dtype"]);
  EXPECT_EQ(c.transformers_version, j["transformers_version"]);
  for (const char* id :
       {"bos_token_id", "eos_token_id", "pad_token_id", "vision_start_token_id",
        "vision_end_token_id", "vision_token_id", "image_token_id", "video_token_id"}) {
    SCOPED_TRACE(id);
    const int got = std::string(id) == "bos_token_id"            ? c.bos_token_id
                    : std::string(id) == "eos_token_id"          ? c.eos_token_id
                    : std::string(id) == "pad_token_id"          ? c.pad_token_id
                    : std::string(id) == "vision_start_token_id" ? c.vision_start_token_id
                    : std::string(id) == "vision_end_token_id"   ? c.vision_end_token_id
                    : std::string(id) == "vision_token_id"       ? c.vision_token_id
                    : std::string(id) == "image_token_id"        ? c.image_token_id
                                                                 : c.video_token_id;
    EXPECT_EQ(got, j[id].get<int>());
  }
  const json& v = j["vision_config"];
  EXPECT_EQ(c.vision.depth, v["depth"]);
  EXPECT_EQ(c.vision.embed_dim, v["embed_dim"]);
  EXPECT_EQ(c.vision.hidden_size, v["hidden_size"]);
  EXPECT_EQ(c.vision.hidden_act, v["hidden_act"]);
  EXPECT_EQ(c.vision.mlp_ratio, v["mlp_ratio"]);
  EXPECT_EQ(c.vision.num_heads, v["num_heads"]);
  EXPECT_EQ(c.vision.in_channels, v["in_channels"]);
  EXPECT_EQ(c.vision.patch_size, v["patch_size"]);
  EXPECT_EQ(c.vision.spatial_merge_size, v["spatial_merge_size"]);
  EXPECT_EQ(c.vision.temporal_patch_size, v["temporal_patch_size"]);
  const json& m = j["vision_mamba_mixer_config"];
  EXPECT_EQ(c.mamba.enable, m["enable"]);
  EXPECT_EQ(c.mamba.hidden_dim, m["hidden_dim"]);
  EXPECT_EQ(c.mamba.norm_type, m["norm_type"]);
  EXPECT_EQ(c.mamba.residual_in_fp32, m["residual_in_fp32"]);
  EXPECT_EQ(c.mamba.d_state, m["d_state"]);
  EXPECT_EQ(c.mamba.d_conv, m["d_conv"]);
  EXPECT_EQ(c.mamba.expand, m["expand"]);
  EXPECT_EQ(c.mamba.headdim, m["headdim"]);
  EXPECT_TRUE(m["d_ssm"].is_null());
  EXPECT_EQ(c.mamba.d_ssm, -1);
  EXPECT_EQ(c.mamba.ssm_dim(), c.mamba.d_inner());
  EXPECT_EQ(c.mamba.ngroups, m["ngroups"]);
  EXPECT_EQ(c.mamba.A_init_range[0], num(m["A_init_range"][0]));
  EXPECT_EQ(c.mamba.A_init_range[1], num(m["A_init_range"][1]));
  EXPECT_EQ(c.mamba.D_has_hdim, m["D_has_hdim"]);
  EXPECT_EQ(c.mamba.rmsnorm, m["rmsnorm"]);
  EXPECT_EQ(c.mamba.norm_before_gate, m["norm_before_gate"]);
  EXPECT_EQ(c.mamba.dt_min, num(m["dt_min"]));
  EXPECT_EQ(c.mamba.dt_max, num(m["dt_max"]));
  EXPECT_EQ(c.mamba.dt_init_floor, num(m["dt_init_floor"]));
  EXPECT_EQ(c.mamba.dt_limit[0], num(m["dt_limit"][0]));
  EXPECT_EQ(c.mamba.dt_limit[1], num(m["dt_limit"][1]));
  EXPECT_EQ(c.mamba.bias, m["bias"]);
  EXPECT_EQ(c.mamba.conv_bias, m["conv_bias"]);
  EXPECT_EQ(c.mamba.chunk_size, m["chunk_size"]);
  EXPECT_EQ(c.mamba.use_mem_eff_path, m["use_mem_eff_path"]);
}

TEST(Config, GoldenConfigMatchesItsJson) {
  auto c = VambaConfig::from_file(golden_path("vamba-tiny/config.json"));
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  expect_matches_golden_json(*c, golden_config_json());
  EXPECT_TRUE(std::isinf(c->mamba.dt_limit[1]) && c->mamba.dt_limit[1] > 0);
  EXPECT_EQ(c->rope_type, "mrope");
  EXPECT_EQ(c->head_dim() / 2, c->mrope_section[0] + c->mrope_section[1] + c->mrope_section[2]);
  EXPECT_TRUE(c->validate().ok());
  // Derived Mamba-2 widths match the checkpoint's in_proj / conv1d shapes (weights_index.txt).
  EXPECT_EQ(c->mamba.in_proj_dim(),
            2 * c->mamba.d_inner() + 2 * c->mamba.ngroups * c->mamba.d_state + c->mamba.nheads());
}

// The defaults of Vamba's configuration_qwen2_vl.py as the golden README lists them.
json readme_vision_defaults() {
  return {{"depth", 32},
          {"embed_dim", 1280},
          {"hidden_size", 3584},
          {"hidden_act", "quick_gelu"},
          {"mlp_ratio", 4},
          {"num_heads", 16},
          {"in_channels", 3},
          {"patch_size", 14},
          {"spatial_merge_size", 2},
          {"temporal_patch_size", 2}};
}
json readme_mamba_defaults() {
  return {{"enable", false},
          {"hidden_dim", 3584},
          {"norm_type", "rmsnorm"},
          {"residual_in_fp32", false},
          {"d_state", 128},
          {"d_conv", 4},
          {"conv_init", nullptr},
          {"expand", 2},
          {"headdim", 64},
          {"d_ssm", nullptr},
          {"ngroups", 1},
          {"A_init_range", {1, 16}},
          {"D_has_hdim", false},
          {"rmsnorm", true},
          {"norm_before_gate", false},
          {"dt_min", 0.001},
          {"dt_max", 0.1},
          {"dt_init_floor", 1e-4},
          {"dt_limit", {0.0, "Infinity"}},
          {"bias", false},
          {"conv_bias", true},
          {"chunk_size", 256},
          {"use_mem_eff_path", true}};
}

// A config as transformers' save_pretrained writes it: nested fields equal to their defaults
// dropped, rope_scaling as Vamba's __init__ rewrote it.
TEST(Config, SavePretrainedStyleParsesToTheSameValues) {
  json full = golden_config_json();
  json saved = full;
  size_t dropped = 0;
  for (auto [key, defaults] : {std::pair{"vision_config", readme_vision_defaults()},
                               std::pair{"vision_mamba_mixer_config", readme_mamba_defaults()}}) {
    json& nested = saved[key];
    for (auto it = defaults.begin(); it != defaults.end(); ++it) {
      if (nested.contains(it.key()) && nested[it.key()] == it.value()) {
        nested.erase(it.key());
        ++dropped;
      }
    }
  }
  EXPECT_GE(dropped, 15u) << "the golden config should share most nested defaults";
  saved["rope_scaling"] = {{"type", "default"},
                           {"rope_type", "default"},
                           {"mrope_section", full["rope_scaling"]["mrope_section"]}};
  testing::TempDir dir;
  std::string text = saved.dump(2);
  testing::write_bytes(dir.file("config.json"), text);
  auto c = VambaConfig::from_file(dir.file("config.json"));
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  expect_matches_golden_json(*c, full);
  EXPECT_EQ(c->rope_type, "default");
  EXPECT_TRUE(std::isinf(c->mamba.dt_limit[1]));
}

// Absent nested objects take exactly the README defaults (checks the header's member defaults).
TEST(Config, AbsentFieldsTakeReadmeDefaults) {
  json j = {{"model_type", "qwen2_vl"},
            {"vision_mamba_mixer_config", {{"enable", true}}},
            {"rope_scaling", {{"type", "mrope"}, {"mrope_section", {16, 24, 24}}}}};
  auto c = parse(j);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  json full = j;
  full["vision_config"] = readme_vision_defaults();
  full["vision_mamba_mixer_config"] = readme_mamba_defaults();
  full["vision_mamba_mixer_config"]["enable"] = true;
  auto d = parse(full);
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  const json v = readme_vision_defaults();
  EXPECT_EQ(c->vision.depth, v["depth"]);
  EXPECT_EQ(c->vision.embed_dim, v["embed_dim"]);
  EXPECT_EQ(c->vision.hidden_size, v["hidden_size"]);
  EXPECT_EQ(c->vision.hidden_act, v["hidden_act"]);
  EXPECT_EQ(c->vision.mlp_ratio, v["mlp_ratio"]);
  EXPECT_EQ(c->vision.num_heads, v["num_heads"]);
  EXPECT_EQ(c->vision.in_channels, v["in_channels"]);
  EXPECT_EQ(c->vision.patch_size, v["patch_size"]);
  EXPECT_EQ(c->vision.spatial_merge_size, v["spatial_merge_size"]);
  EXPECT_EQ(c->vision.temporal_patch_size, v["temporal_patch_size"]);
  const json m = readme_mamba_defaults();
  EXPECT_EQ(c->mamba.hidden_dim, m["hidden_dim"]);
  EXPECT_EQ(c->mamba.norm_type, m["norm_type"]);
  EXPECT_EQ(c->mamba.residual_in_fp32, m["residual_in_fp32"]);
  EXPECT_EQ(c->mamba.d_state, m["d_state"]);
  EXPECT_EQ(c->mamba.d_conv, m["d_conv"]);
  EXPECT_EQ(c->mamba.expand, m["expand"]);
  EXPECT_EQ(c->mamba.headdim, m["headdim"]);
  EXPECT_EQ(c->mamba.d_ssm, -1);
  EXPECT_EQ(c->mamba.ngroups, m["ngroups"]);
  EXPECT_EQ(c->mamba.A_init_range[0], m["A_init_range"][0].get<double>());
  EXPECT_EQ(c->mamba.A_init_range[1], m["A_init_range"][1].get<double>());
  EXPECT_EQ(c->mamba.D_has_hdim, m["D_has_hdim"]);
  EXPECT_EQ(c->mamba.rmsnorm, m["rmsnorm"]);
  EXPECT_EQ(c->mamba.norm_before_gate, m["norm_before_gate"]);
  EXPECT_EQ(c->mamba.dt_min, m["dt_min"].get<double>());
  EXPECT_EQ(c->mamba.dt_max, m["dt_max"].get<double>());
  EXPECT_EQ(c->mamba.dt_init_floor, m["dt_init_floor"].get<double>());
  EXPECT_EQ(c->mamba.dt_limit[0], 0.0);
  EXPECT_TRUE(std::isinf(c->mamba.dt_limit[1]));
  EXPECT_EQ(c->mamba.bias, m["bias"]);
  EXPECT_EQ(c->mamba.conv_bias, m["conv_bias"]);
  EXPECT_EQ(c->mamba.chunk_size, m["chunk_size"]);
  EXPECT_EQ(c->mamba.use_mem_eff_path, m["use_mem_eff_path"]);
  EXPECT_FALSE(VambaConfig().mamba.enable);
  // Top-level defaults the README lists.
  EXPECT_FALSE(c->use_alpha_balancing);
  EXPECT_FALSE(c->cross_attn_use_position_embeddings);
  EXPECT_FALSE(c->cross_attn_use_layer_norm);
  EXPECT_EQ(c->rms_norm_eps, 1e-5);
  EXPECT_EQ(c->rope_theta, 1e6);
  EXPECT_FALSE(c->tie_word_embeddings);
  EXPECT_EQ(c->vocab_size, 152064);
  // Spelled-out defaults parse to the same config.
  EXPECT_EQ(d->vision.embed_dim, c->vision.embed_dim);
  EXPECT_EQ(d->mamba.in_proj_dim(), c->mamba.in_proj_dim());
}

TEST(Config, PythonBareTokens) {
  auto s = sanitize_python_json(R"({"a": [Infinity, -Infinity, NaN], "s": "Infinity NaN \" NaN",
                                    "t": "\\", "u": -Infinity})");
  ASSERT_TRUE(s.ok());
  json j = json::parse(*s);
  EXPECT_EQ(j["a"][0], "Infinity");
  EXPECT_EQ(j["a"][1], "-Infinity");
  EXPECT_EQ(j["a"][2], "NaN");
  EXPECT_EQ(j["s"], "Infinity NaN \" NaN");  // strings untouched
  EXPECT_EQ(j["t"], "\\");
  EXPECT_EQ(j["u"], "-Infinity");
  // Only whole tokens: these stay invalid JSON.
  for (const char* bad : {R"({"a": InfinityX})", R"({"a": NaNa})", R"({"a": xNaN})"}) {
    auto t = sanitize_python_json(bad);
    ASSERT_TRUE(t.ok());
    EXPECT_FALSE(json::accept(*t)) << bad;
  }
  EXPECT_FALSE(sanitize_python_json(R"({"a": "unterminated)").ok());

  // In a config: bare tokens where numbers go.
  std::string text = testing::read_bytes(golden_path("vamba-tiny/config.json"));
  ASSERT_NE(text.find("Infinity"), std::string::npos)
      << "the golden config carries a bare Infinity";
  const auto pos = text.find("\"dt_min\": 0.001");
  ASSERT_NE(pos, std::string::npos);
  text.replace(pos, std::strlen("\"dt_min\": 0.001"), "\"dt_min\": NaN");
  auto c = VambaConfig::from_json_text(text, "x");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_TRUE(std::isnan(c->mamba.dt_min));
  // A string field keeps the spelling; "Infinity" is then just an unsupported activation.
  json act = golden_config_json();
  act["hidden_act"] = "Infinity";
  expect_error(parse(act).status(), StatusCode::kUnimplemented, {"hidden_act"});
}

TEST(Config, RopeScalingForms) {
  json j = golden_config_json();
  const json section = j["rope_scaling"]["mrope_section"];

  j["rope_scaling"] = {{"type", "mrope"}, {"mrope_section", section}};
  ASSERT_TRUE(parse(j).ok());
  EXPECT_EQ(parse(j)->rope_type, "mrope");

  j["rope_scaling"] = {{"type", "default"}, {"rope_type", "default"}, {"mrope_section", section}};
  ASSERT_TRUE(parse(j).ok());
  EXPECT_EQ(parse(j)->mrope_section, section.get<std::vector<int>>());

  j["rope_scaling"] = {{"rope_type", "mrope"}, {"mrope_section", section}};
  ASSERT_TRUE(parse(j).ok());

  j.erase("rope_scaling");  // plain RoPE: one section over head_dim / 2
  auto absent = parse(j);
  ASSERT_TRUE(absent.ok()) << absent.status().to_string();
  EXPECT_EQ(absent->rope_type, "default");
  EXPECT_EQ(absent->mrope_section[0] + absent->mrope_section[1] + absent->mrope_section[2],
            absent->head_dim() / 2);
  j["rope_scaling"] = nullptr;
  EXPECT_TRUE(parse(j).ok());

  j["rope_scaling"] = {{"type", "yarn"}, {"factor", 4.0}};
  expect_error(parse(j).status(), StatusCode::kUnimplemented, {"cfg", "yarn"});
  j["rope_scaling"] = {{"type", "mrope"}};
  expect_error(parse(j).status(), StatusCode::kInvalidArgument,
               {"cfg", "rope_scaling.mrope_section"});
  j["rope_scaling"] = {{"type", "mrope"}, {"mrope_section", {4, 6, 7}}};
  expect_error(parse(j).status(), StatusCode::kInvalidArgument, {"mrope_section", "sums to 17"});
  j["rope_scaling"] = {{"type", "mrope"}, {"mrope_section", {8, 8}}};
  expect_error(parse(j).status(), StatusCode::kInvalidArgument, {"3 entries"});
  j["rope_scaling"] = {{"mrope_section", section}};
  expect_error(parse(j).status(), StatusCode::kInvalidArgument, {"rope_scaling.type"});
  j["rope_scaling"] = "mrope";
  expect_error(parse(j).status(), StatusCode::kInvalidArgument, {"rope_scaling"});
}

TEST(Config, WrongModelsAndInvalidValues) {
  const json golden = golden_config_json();
  auto with = [&](const std::function<void(json&)>& edit) {
    json j = golden;
    edit(j);
    return parse(j).status();
  };
  expect_error(with([](json& j) { j["model_type"] = "qwen2"; }), StatusCode::kInvalidArgument,
               {"cfg", "'qwen2'", "not a Vamba"});
  expect_error(with([](json& j) { j.erase("model_type"); }), StatusCode::kInvalidArgument,
               {"model_type"});
  expect_error(with([](json& j) { j["num_attention_heads"] = 3; }), StatusCode::kInvalidArgument,
               {"cfg", "num_attention_heads 3", "hidden_size"});
  expect_error(with([](json& j) { j["num_key_value_heads"] = 3; }), StatusCode::kInvalidArgument,
               {"num_key_value_heads 3"});
  expect_error(with([](json& j) { j["num_hidden_layers"] = 0; }), StatusCode::kInvalidArgument,
               {"num_hidden_layers must be positive"});
  expect_error(with([](json& j) { j["vocab_size"] = -5; }), StatusCode::kInvalidArgument,
               {"vocab_size"});
  expect_error(with([](json& j) { j["num_hidden_layers"] = 1000000; }),
               StatusCode::kInvalidArgument, {"num_hidden_layers 1000000 is absurd"});
  expect_error(with([](json& j) {
                 j["vision_mamba_mixer_config"]["d_state"] = 1 << 20;
                 j["vision_mamba_mixer_config"]["ngroups"] = 1 << 20;
               }),
               StatusCode::kInvalidArgument, {"absurd"});
  expect_error(with([](json& j) {
                 j["rope_scaling"]["mrope_section"] = {2147483647, 2, 0};
               }),
               StatusCode::kInvalidArgument, {"mrope_section"});
  expect_error(with([](json& j) { j["hidden_size"] = "128"; }), StatusCode::kInvalidArgument,
               {"cfg", "field 'hidden_size'", "integer"});
  expect_error(with([](json& j) { j["hidden_size"] = 1e12; }), StatusCode::kInvalidArgument,
               {"field 'hidden_size'"});
  expect_error(with([](json& j) { j["hidden_size"] = 5000000000LL; }), StatusCode::kInvalidArgument,
               {"field 'hidden_size'", "out of range"});
  expect_error(with([](json& j) { j["vision_config"]["depth"] = true; }),
               StatusCode::kInvalidArgument, {"field 'vision_config.depth'"});
  expect_error(with([](json& j) { j["vision_config"] = 3; }), StatusCode::kInvalidArgument,
               {"field 'vision_config'"});
  expect_error(with([](json& j) { j["vision_mamba_mixer_config"]["headdim"] = 48; }),
               StatusCode::kInvalidArgument, {"headdim 48", "d_ssm"});
  expect_error(with([](json& j) { j["vision_mamba_mixer_config"]["d_ssm"] = 1024; }),
               StatusCode::kInvalidArgument, {"d_ssm"});
  expect_error(with([](json& j) { j["vision_mamba_mixer_config"]["dt_limit"] = {1}; }),
               StatusCode::kInvalidArgument, {"vision_mamba_mixer_config.dt_limit"});
  expect_error(with([](json& j) { j["vision_mamba_mixer_config"]["hidden_dim"] = 64; }),
               StatusCode::kInvalidArgument, {"hidden_dim 64"});
  expect_error(with([](json& j) { j["vision_config"]["num_heads"] = 3; }),
               StatusCode::kInvalidArgument, {"vision_config.num_heads"});
  expect_error(with([](json& j) { j["rms_norm_eps"] = 0; }), StatusCode::kInvalidArgument,
               {"rms_norm_eps"});
  expect_error(with([](json& j) { j["use_sliding_window"] = true; }), StatusCode::kUnimplemented,
               {"use_sliding_window"});
  expect_error(VambaConfig::from_json_text("[1]", "arr").status(), StatusCode::kInvalidArgument,
               {"arr", "not a JSON object"});
  expect_error(VambaConfig::from_json_text("{", "broken").status(), StatusCode::kInvalidArgument,
               {"broken", "malformed JSON"});
  expect_error(VambaConfig::from_file("/nonexistent/config.json").status(), StatusCode::kNotFound,
               {"/nonexistent/config.json"});
  // eos may be a list.
  json j = golden;
  j["eos_token_id"] = {151645, 151643};
  auto c = parse(j);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->eos_token_id, 151645);
  EXPECT_EQ(c->eos_token_ids.size(), 2u);
}

TEST(PreprocessorConfig, GoldenAndSizeForms) {
  const std::string path = golden_path("vamba-tiny/preprocessor_config.json");
  auto p = PreprocessorConfig::from_file(path);
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  const json j = json::parse(testing::read_bytes(path));
  EXPECT_EQ(p->min_pixels, j["min_pixels"]);
  EXPECT_EQ(p->max_pixels, j["max_pixels"]);
  EXPECT_EQ(p->patch_size, j["patch_size"]);
  EXPECT_EQ(p->temporal_patch_size, j["temporal_patch_size"]);
  EXPECT_EQ(p->merge_size, j["merge_size"]);
  EXPECT_EQ(p->resample, j["resample"]);
  EXPECT_EQ(p->rescale_factor, j["rescale_factor"].get<double>());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(p->image_mean[i], j["image_mean"][i].get<double>());
    EXPECT_EQ(p->image_std[i], j["image_std"][i].get<double>());
  }
  EXPECT_EQ(p->do_resize, j["do_resize"]);
  EXPECT_EQ(p->do_rescale, j["do_rescale"]);
  EXPECT_EQ(p->do_normalize, j["do_normalize"]);
  EXPECT_EQ(p->do_convert_rgb, j["do_convert_rgb"]);

  // Only under "size".
  json only_size = j;
  only_size.erase("min_pixels");
  only_size.erase("max_pixels");
  only_size["size"] = {{"min_pixels", 1000}, {"max_pixels", 2000}};
  auto q = PreprocessorConfig::from_json_text(only_size.dump(), "pp");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->min_pixels, 1000);
  EXPECT_EQ(q->max_pixels, 2000);
  only_size["size"] = {{"shortest_edge", 1500}, {"longest_edge", 2500}};
  q = PreprocessorConfig::from_json_text(only_size.dump(), "pp");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->min_pixels, 1500);
  EXPECT_EQ(q->max_pixels, 2500);

  // Nothing: the class defaults, which the golden file spells out.
  auto d = PreprocessorConfig::from_json_text("{}", "pp");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->min_pixels, j["min_pixels"]);
  EXPECT_EQ(d->max_pixels, j["max_pixels"]);

  json bad = j;
  bad["max_pixels"] = 10;
  expect_error(PreprocessorConfig::from_json_text(bad.dump(), "pp").status(),
               StatusCode::kInvalidArgument, {"pp", "min_pixels"});
  bad = j;
  bad["image_mean"] = {0.5, 0.5};
  expect_error(PreprocessorConfig::from_json_text(bad.dump(), "pp").status(),
               StatusCode::kInvalidArgument, {"pp", "image_mean"});
}

}  // namespace
}  // namespace vamba
