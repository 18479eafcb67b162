// Checkpoint::open and the weight table: the golden checkpoint, sharded copies, wrong checkpoints
// (missing/misshapen/integer tensors, a plain Qwen2 or Qwen2-VL model), and the golden-tensor
// helpers.
#include "engine/model/checkpoint.h"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/model/model_test_util.h"
#include "tests/testing/golden.h"
#include "tests/testing/golden_tensors.h"

namespace vamba {
namespace {

using json = nlohmann::json;
using testing::golden_path;
using testing::TempDir;

using TensorList = std::vector<std::pair<std::string, Tensor>>;

void expect_error(const Status& s, StatusCode code, const std::vector<std::string>& parts) {
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), code) << s.to_string();
  for (const auto& p : parts) {
    EXPECT_NE(s.message().find(p), std::string::npos) << "lacks '" << p << "': " << s.to_string();
  }
}

std::string golden_dir() { return golden_path("vamba-tiny"); }

json golden_config_json() {
  auto text = sanitize_python_json(testing::read_bytes(golden_path("vamba-tiny/config.json")));
  EXPECT_TRUE(text.ok());
  return json::parse(text.value());
}

// A small synthetic checkpoint: the golden config (vocab shrunk) and zero bf16 tensors for every
// table entry, after `edit` had its way with the list.
void make_checkpoint(const TempDir& dir, json config,
                     const std::function<void(TensorList&)>& edit = nullptr) {
  if (!config.contains("vocab_size") ||
      config["vocab_size"] == golden_config_json()["vocab_size"]) {
    config["vocab_size"] = 64;
  }
  testing::write_bytes(dir.file("config.json"), config.dump(2));
  TensorList tensors;
  auto parsed = VambaConfig::from_json_text(config.dump(), "synthetic");
  if (parsed.ok()) {
    for (const WeightSpec& spec : weight_table(*parsed)) {
      if (!spec.required) continue;
      tensors.emplace_back(spec.name, Tensor::zeros(spec.shape, DType::kBF16).value());
    }
  }
  if (edit) edit(tensors);
  ASSERT_TRUE(write_safetensors(dir.file("model.safetensors"), tensors).ok());
}

void replace(TensorList& list, const std::string& name, Tensor t) {
  for (auto& [n, v] : list) {
    if (n == name) v = t;
  }
}

void drop(TensorList& list, const std::string& name) {
  std::erase_if(list, [&](const auto& p) { return p.first == name; });
}

TEST(Checkpoint, GoldenOpensWithEveryTensorAndNothingUnused) {
  auto ck = Checkpoint::open(golden_dir());
  ASSERT_TRUE(ck.ok()) << ck.status().to_string();
  const auto table = weight_table(ck->config);
  EXPECT_EQ(ck->weights.size(), table.size());
  EXPECT_TRUE(ck->unused.empty());
  EXPECT_TRUE(ck->store.unused().empty());
  for (const WeightSpec& spec : table) {
    auto w = ck->weight(spec.name);
    ASSERT_TRUE(w.ok()) << spec.name;
    EXPECT_EQ(w->shape(), spec.shape) << spec.name;
    EXPECT_EQ(w->dtype(), DType::kBF16) << spec.name;
    EXPECT_TRUE(w->device().is_cpu());
    // A view into the mapping, not a copy.
    EXPECT_EQ(w->raw_data(), ck->store.get(spec.name)->raw_data()) << spec.name;
  }
  EXPECT_TRUE(std::isinf(ck->config.mamba.dt_limit[1]) && ck->config.mamba.dt_limit[1] > 0);
  auto direct = VambaConfig::from_file(golden_path("vamba-tiny/config.json"));
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(ck->config.num_hidden_layers, direct->num_hidden_layers);
  EXPECT_EQ(ck->config.mamba.chunk_size, direct->mamba.chunk_size);
  const json pj =
      json::parse(testing::read_bytes(golden_path("vamba-tiny/preprocessor_config.json")));
  EXPECT_EQ(ck->preprocessor.max_pixels, pj["max_pixels"]);
  expect_error(ck->weight("not.a.weight").status(), StatusCode::kNotFound, {"'not.a.weight'"});
  ASSERT_TRUE(ck->lm_head().ok());
  EXPECT_EQ(ck->lm_head()->raw_data(), ck->weight("lm_head.weight")->raw_data());
}

// The table, in order, is exactly weights_index.txt (the real checkpoint's names and shapes).
TEST(Checkpoint, WeightTableEqualsWeightsIndex) {
  auto config = VambaConfig::from_file(golden_path("vamba-tiny/config.json"));
  ASSERT_TRUE(config.ok());
  const auto table = weight_table(*config);
  std::ifstream idx(golden_path("vamba-tiny/weights_index.txt"));
  std::string line;
  size_t i = 0;
  while (std::getline(idx, line)) {
    if (line.empty()) continue;
    ASSERT_LT(i, table.size()) << "table shorter than weights_index.txt at " << line;
    EXPECT_EQ(table[i].name + "\t" + shape_to_string(table[i].shape), line);
    EXPECT_TRUE(table[i].required) << table[i].name;
    ++i;
  }
  EXPECT_EQ(i, table.size());
  EXPECT_EQ(layer_weight(3, "alpha"), "model.layers.3.alpha");
  EXPECT_EQ(vision_block_weight(1, "attn.qkv.weight"), "visual.blocks.1.attn.qkv.weight");
}

TEST(Checkpoint, WeightTableFollowsConfigSwitches) {
  auto base = VambaConfig::from_file(golden_path("vamba-tiny/config.json"));
  ASSERT_TRUE(base.ok());
  auto find = [](const std::vector<WeightSpec>& t, const std::string& n) -> const WeightSpec* {
    for (const auto& s : t) {
      if (s.name == n) return &s;
    }
    return nullptr;
  };
  const std::string mixer = "model.layers.0.vision_mixer.mixer.";
  VambaConfig c = *base;
  c.mamba.D_has_hdim = true;
  c.mamba.bias = true;
  c.mamba.conv_bias = false;
  c.use_alpha_balancing = false;
  c.tie_word_embeddings = true;
  auto t = weight_table(c);
  EXPECT_EQ(find(t, mixer + "D")->shape, Shape{c.mamba.ssm_dim()});
  ASSERT_NE(find(t, mixer + "in_proj.bias"), nullptr);
  EXPECT_EQ(find(t, mixer + "in_proj.bias")->shape, Shape{c.mamba.in_proj_dim()});
  ASSERT_NE(find(t, mixer + "out_proj.bias"), nullptr);
  EXPECT_EQ(find(t, mixer + "conv1d.bias"), nullptr);
  EXPECT_EQ(find(t, "model.layers.0.alpha"), nullptr);
  EXPECT_FALSE(find(t, "lm_head.weight")->required);

  c = *base;
  c.mamba.d_ssm = c.mamba.d_inner() / 2;  // mamba_ssm's gated-MLP split
  t = weight_table(c);
  EXPECT_EQ(find(t, mixer + "in_proj.weight")->shape,
            (Shape{2 * c.mamba.d_inner() + 2 * c.mamba.ngroups * c.mamba.d_state + c.mamba.nheads(),
                   c.hidden_size}));
  EXPECT_EQ(find(t, mixer + "conv1d.weight")->shape,
            (Shape{c.mamba.conv_dim(), 1, c.mamba.d_conv}));
  EXPECT_EQ(find(t, mixer + "norm.weight")->shape, Shape{c.mamba.ssm_dim()});
  EXPECT_EQ(find(t, mixer + "out_proj.weight")->shape, (Shape{c.hidden_size, c.mamba.d_inner()}));

  c = *base;
  c.mamba.enable = false;
  t = weight_table(c);
  for (const auto& s : t) EXPECT_EQ(s.name.find("vision_mixer"), std::string::npos) << s.name;

  // Names are unique.
  std::set<std::string> names;
  for (const auto& s : weight_table(*base)) EXPECT_TRUE(names.insert(s.name).second) << s.name;
}

// The golden model split into two shards + index loads identically; the index wins over a stale
// model.safetensors, and other *.safetensors files are never read.
TEST(Checkpoint, ShardedGoldenLoadsIdentically) {
  auto single = Checkpoint::open(golden_dir());
  ASSERT_TRUE(single.ok()) << single.status().to_string();
  TempDir dir;
  std::filesystem::copy_file(golden_path("vamba-tiny/config.json"), dir.file("config.json"));
  std::filesystem::copy_file(golden_path("vamba-tiny/preprocessor_config.json"),
                             dir.file("preprocessor_config.json"));
  const auto names = single->store.names();
  TensorList shard[2];
  json weight_map = json::object();
  for (size_t i = 0; i < names.size(); ++i) {
    const int s = i < names.size() / 2 ? 0 : 1;
    shard[s].emplace_back(names[i], single->store.get(names[i]).value());
    weight_map[names[i]] = "model-0000" + std::to_string(s + 1) + "-of-00002.safetensors";
  }
  for (int s = 0; s < 2; ++s) {
    ASSERT_TRUE(
        write_safetensors(dir.file("model-0000" + std::to_string(s + 1) + "-of-00002.safetensors"),
                          shard[s], {{"format", "pt"}})
            .ok());
  }
  testing::write_bytes(
      dir.file("model.safetensors.index.json"),
      json{{"metadata", {{"total_size", single->store.total_bytes()}}}, {"weight_map", weight_map}}
          .dump(2));
  testing::write_bytes(dir.file("model.safetensors"), "stale, corrupt, must be ignored");
  testing::write_bytes(dir.file("golden.safetensors"), "never read");

  auto sharded = Checkpoint::open(dir.path());
  ASSERT_TRUE(sharded.ok()) << sharded.status().to_string();
  EXPECT_EQ(sharded->store.files().size(), 2u);
  EXPECT_TRUE(sharded->unused.empty());
  ASSERT_EQ(sharded->weights.size(), single->weights.size());
  for (const auto& [name, w] : single->weights) {
    auto v = sharded->weight(name);
    ASSERT_TRUE(v.ok()) << name;
    ASSERT_EQ(v->shape(), w.shape()) << name;
    ASSERT_EQ(v->dtype(), w.dtype()) << name;
    EXPECT_EQ(std::memcmp(v->raw_data(), w.raw_data(), w.nbytes()), 0) << name;
  }
}

TEST(Checkpoint, SyntheticCheckpointOpens) {
  TempDir dir;
  make_checkpoint(dir, golden_config_json());
  auto ck = Checkpoint::open(dir.path());
  ASSERT_TRUE(ck.ok()) << ck.status().to_string();
  EXPECT_TRUE(ck->unused.empty());
  // No preprocessor_config.json: the class defaults.
  EXPECT_EQ(ck->preprocessor.min_pixels, PreprocessorConfig().min_pixels);
}

TEST(Checkpoint, MissingRequiredTensor) {
  TempDir dir;
  const std::string name = "model.layers.2.vision_mixer.mixer.A_log";
  make_checkpoint(dir, golden_config_json(), [&](TensorList& t) { drop(t, name); });
  expect_error(Checkpoint::open(dir.path()).status(), StatusCode::kNotFound,
               {"'" + name + "'", dir.file("model.safetensors"), "missing"});
}

TEST(Checkpoint, WrongShapeNamesExpectedAndActual) {
  TempDir dir;
  const std::string name = "model.layers.1.self_attn.k_proj.weight";
  make_checkpoint(dir, golden_config_json(), [&](TensorList& t) {
    replace(t, name, Tensor::zeros({128, 128}, DType::kBF16).value());
  });
  expect_error(
      Checkpoint::open(dir.path()).status(), StatusCode::kInvalidArgument,
      {"'" + name + "'", "[128, 128]", "expected [64, 128]", dir.file("model.safetensors")});
}

TEST(Checkpoint, IntegerDtypeRejected) {
  TempDir dir;
  const std::string name = "model.norm.weight";
  make_checkpoint(dir, golden_config_json(), [&](TensorList& t) {
    replace(t, name, Tensor::zeros({128}, DType::kI32).value());
  });
  expect_error(Checkpoint::open(dir.path()).status(), StatusCode::kInvalidArgument,
               {"'" + name + "'", "i32", "floating"});
}

TEST(Checkpoint, ExtraTensorsAreReportedUnused) {
  TempDir dir;
  make_checkpoint(dir, golden_config_json(), [&](TensorList& t) {
    t.emplace_back("model.layers.0.mystery.weight", Tensor::zeros({2}, DType::kF32).value());
    t.emplace_back("zz.extra", Tensor::zeros({1}, DType::kI64).value());
  });
  auto ck = Checkpoint::open(dir.path());
  ASSERT_TRUE(ck.ok()) << ck.status().to_string();
  EXPECT_EQ(ck->unused, (std::vector<std::string>{"model.layers.0.mystery.weight", "zz.extra"}));
}

TEST(Checkpoint, TiedEmbeddingsMakeLmHeadOptional) {
  TempDir dir;
  json config = golden_config_json();
  config["tie_word_embeddings"] = true;
  make_checkpoint(dir, config, [](TensorList& t) { drop(t, "lm_head.weight"); });
  auto ck = Checkpoint::open(dir.path());
  ASSERT_TRUE(ck.ok()) << ck.status().to_string();
  expect_error(ck->weight("lm_head.weight").status(), StatusCode::kNotFound, {"lm_head.weight"});
  EXPECT_TRUE(ck->weight("model.embed_tokens.weight").ok());
  ASSERT_TRUE(ck->lm_head().ok());
  EXPECT_EQ(ck->lm_head()->raw_data(), ck->weight("model.embed_tokens.weight")->raw_data());
}

// A plain Qwen2 language model is refused at its config; a Qwen2-VL without Vamba's cross-attention
// and Mamba blocks is refused at the first missing tensor.
TEST(Checkpoint, WrongModelsFailClearly) {
  {
    TempDir dir;
    json qwen2 = {{"model_type", "qwen2"},    {"hidden_size", 128},
                  {"num_attention_heads", 4}, {"num_key_value_heads", 2},
                  {"num_hidden_layers", 2},   {"intermediate_size", 256},
                  {"vocab_size", 64},         {"architectures", {"Qwen2ForCausalLM"}}};
    testing::write_bytes(dir.file("config.json"), qwen2.dump());
    TensorList t = {{"model.embed_tokens.weight", Tensor::zeros({64, 128}, DType::kBF16).value()}};
    ASSERT_TRUE(write_safetensors(dir.file("model.safetensors"), t).ok());
    expect_error(Checkpoint::open(dir.path()).status(), StatusCode::kInvalidArgument,
                 {dir.file("config.json"), "'qwen2'", "not a Vamba"});
  }
  {
    TempDir dir;
    json qwen2vl = golden_config_json();
    qwen2vl.erase("vision_mamba_mixer_config");
    qwen2vl.erase("use_alpha_balancing");
    make_checkpoint(dir, qwen2vl, [](TensorList& t) {
      std::erase_if(t,
                    [](const auto& p) { return p.first.find("cross_attn") != std::string::npos; });
    });
    expect_error(Checkpoint::open(dir.path()).status(), StatusCode::kNotFound,
                 {"model.layers.0.cross_attn.q_proj.weight", "Vamba"});
  }
}

TEST(Checkpoint, MissingFilesAndFolders) {
  TempDir dir;
  expect_error(Checkpoint::open(dir.file("absent")).status(), StatusCode::kNotFound,
               {dir.file("absent")});
  expect_error(Checkpoint::open(dir.path()).status(), StatusCode::kNotFound,
               {dir.file("config.json")});
  testing::write_bytes(dir.file("config.json"), golden_config_json().dump());
  expect_error(Checkpoint::open(dir.path()).status(), StatusCode::kNotFound,
               {dir.path(), "model.safetensors"});
  testing::write_bytes(dir.file("preprocessor_config.json"), "{\"min_pixels\": \"x\"}");
  expect_error(Checkpoint::open(dir.path()).status(), StatusCode::kInvalidArgument,
               {dir.file("preprocessor_config.json"), "min_pixels"});
}

// ---- tests/testing/golden_tensors helpers.

TEST(GoldenTensors, ReadByName) {
  auto t = testing::golden_tensor("text_embeds");
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_EQ(t->dtype(), DType::kF32);
  const auto floats = testing::golden_floats("text_embeds");
  EXPECT_EQ(static_cast<int64_t>(floats.size()), t->numel());
  EXPECT_EQ(std::memcmp(floats.data(), t->raw_data(), t->nbytes()), 0);

  // f64 converts to f32; integer tensors widen to i64.
  const auto ts = testing::golden_floats("frame_timestamps");
  EXPECT_EQ(static_cast<int64_t>(ts.size()),
            shape_numel(testing::golden_shape("frame_timestamps")));
  const auto ids = testing::golden_ints("input_ids");
  EXPECT_EQ(static_cast<int64_t>(ids.size()), shape_numel(testing::golden_shape("input_ids")));
  const auto pixels = testing::golden_ints("frames_rgb");
  EXPECT_EQ(static_cast<int64_t>(pixels.size()), shape_numel(testing::golden_shape("frames_rgb")));
  for (int64_t v : pixels) ASSERT_TRUE(v >= 0 && v <= 255);

  auto missing = testing::golden_tensor("no_such_tensor");
  expect_error(missing.status(), StatusCode::kNotFound, {"golden.safetensors", "'no_such_tensor'"});
  EXPECT_NONFATAL_FAILURE(testing::golden_ints("text_embeds"), "not an integer tensor");
  EXPECT_NONFATAL_FAILURE(testing::golden_floats("no_such_tensor"), "no_such_tensor");
}

}  // namespace
}  // namespace vamba
