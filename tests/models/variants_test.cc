// The hybrid LM on random-weight checkpoints whose configs differ from vamba-tiny's in every switch
// the model reads (grouped B/C, one KV head, no alpha balancing, tied embeddings, LayerNorm block
// norm, projection biases, no conv bias, norm before gate, a dt limit, no Mamba at all), so nothing
// tiny-specific is hard-coded. Without golden data these check the model's own invariants.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "engine/model/checkpoint.h"
#include "engine/model/safetensors.h"
#include "engine/models/vamba_lm.h"
#include "tests/testing/golden.h"

namespace vamba {
namespace {

namespace fs = std::filesystem;

std::string config_json(bool mamba) {
  return std::string(R"({
  "vision_config": {"depth": 1, "embed_dim": 32, "hidden_size": 64, "num_heads": 2},
  "vision_mamba_mixer_config": {
    "enable": )") +
         (mamba ? "true" : "false") + R"(, "hidden_dim": 64, "norm_type": "layernorm",
    "d_state": 8, "d_conv": 4, "expand": 2, "headdim": 16, "ngroups": 2, "norm_before_gate": true,
    "dt_limit": [0.001, 0.2], "bias": true, "conv_bias": false, "chunk_size": 16
  },
  "vocab_size": 300, "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2,
  "num_attention_heads": 4, "num_key_value_heads": 1, "rms_norm_eps": 1e-5,
  "rope_theta": 10000.0, "use_alpha_balancing": false, "tie_word_embeddings": true,
  "rope_scaling": {"type": "default", "rope_type": "default", "mrope_section": [2, 3, 3]},
  "model_type": "qwen2_vl"
})";
}

// A checkpoint folder with random bf16 weights for every table entry of the config.
class RandomCheckpoint {
 public:
  explicit RandomCheckpoint(bool mamba) {
    dir_ = fs::temp_directory_path() /
           ("vamba_variant_" + std::to_string(mamba) + "_" +
            std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    std::ofstream(dir_ / "config.json") << config_json(mamba);
    auto config = VambaConfig::from_file((dir_ / "config.json").string());
    EXPECT_TRUE(config.ok()) << config.status().to_string();
    std::mt19937_64 rng(7);
    std::normal_distribution<float> noise(0.0f, 1.0f);
    std::vector<std::pair<std::string, Tensor>> tensors;
    for (const WeightSpec& spec : weight_table(*config)) {
      if (!spec.required) continue;
      std::vector<float> v(static_cast<size_t>(shape_numel(spec.shape)));
      const std::string& n = spec.name;
      const bool norm = n.find("norm") != std::string::npos && n.ends_with(".weight");
      for (float& x : v) {
        if (n.ends_with("A_log")) {
          x = std::log(1.0f + 15.0f * std::abs(noise(rng)) / 3.0f);
        } else if (n.ends_with(".D")) {
          x = 1.0f + 0.1f * noise(rng);
        } else if (norm) {
          x = 1.0f + 0.1f * noise(rng);
        } else {
          x = 0.08f * noise(rng);
        }
      }
      auto t = Tensor::from_floats(spec.shape, v, DType::kBF16);
      EXPECT_TRUE(t.ok());
      tensors.emplace_back(n, *t);
    }
    EXPECT_TRUE(write_safetensors((dir_ / "model.safetensors").string(), tensors).ok());
  }
  ~RandomCheckpoint() { fs::remove_all(dir_); }
  std::string dir() const { return dir_.string(); }

 private:
  fs::path dir_;
};

std::vector<float> vals(const Tensor& t) { return *t.to_float_vector(); }

Tensor random_video(int64_t m, int64_t hidden) {
  std::mt19937_64 rng(11);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(m * hidden));
  for (float& x : v) x = d(rng);
  return *Tensor::from_floats({m, hidden}, v);
}

TEST(ModelVariants, GroupedTiedLayerNormVariantIsConsistent) {
  RandomCheckpoint rc(/*mamba=*/true);
  auto ck = Checkpoint::open(rc.dir());
  ASSERT_TRUE(ck.ok()) << ck.status().to_string();
  Stream s;
  auto lm = VambaLm::load(*ck, Device::cpu(), s);
  ASSERT_TRUE(lm.ok()) << lm.status().to_string();
  const Tensor v0 = random_video(37, 64);
  const std::vector<int64_t> ids = {5, 17, 299, 0, 42, 42, 7};

  auto run = [&](const std::vector<int64_t>& pieces, TextOutput* out, TextCapture* cap) {
    auto video = (*lm)->new_video_state(s);
    ASSERT_TRUE(video.ok());
    int64_t at = 0;
    for (int64_t p : pieces) {
      ASSERT_TRUE((*lm)->append_video(*v0.slice_rows(at, at + p), &*video, s).ok());
      at += p;
    }
    auto text = (*lm)->new_text_state(s);
    ASSERT_TRUE(text.ok());
    ASSERT_TRUE((*lm)->forward_text(ids, *video, &*text, out, s, {}, cap).ok());
  };
  TextOutput whole, pieces;
  TextCapture cap;
  run({37}, &whole, &cap);
  run({5, 1, 2, 29}, &pieces, nullptr);
  EXPECT_LE(testing::rel_l2(vals(pieces.logits_last), vals(whole.logits_last)), 1e-6);
  for (float x : vals(whole.logits_last)) ASSERT_TRUE(std::isfinite(x));

  // Without alpha balancing the layer adds s + c, then the MLP.
  const auto e = vals(cap.text_embeds), sa = vals(cap.layers[0].self_attn_out),
             ca = vals(cap.layers[0].cross_attn_out), m = vals(cap.layers[0].mlp_out);
  std::vector<float> want(e.size());
  for (size_t i = 0; i < e.size(); ++i) want[i] = e[i] + sa[i] + ca[i] + m[i];
  EXPECT_LE(testing::rel_l2(vals(cap.layers[0].text_layer_out), want), 1e-6);
}

TEST(ModelVariants, WithoutMambaTheVideoStatesStayPut) {
  RandomCheckpoint rc(/*mamba=*/false);
  auto ck = Checkpoint::open(rc.dir());
  ASSERT_TRUE(ck.ok()) << ck.status().to_string();
  Stream s;
  auto lm = VambaLm::load(*ck, Device::cpu(), s);
  ASSERT_TRUE(lm.ok()) << lm.status().to_string();
  const Tensor v0 = random_video(9, 64);
  auto video = (*lm)->new_video_state(s);
  ASSERT_TRUE(video.ok());
  EXPECT_TRUE(video->mamba.empty());
  VideoCapture cap;
  ASSERT_TRUE((*lm)->append_video(v0, &*video, s, {}, &cap).ok());
  for (const auto& layer : cap.layers) EXPECT_EQ(vals(layer.video_layer_out), vals(v0));
  auto text = (*lm)->new_text_state(s);
  ASSERT_TRUE(text.ok());
  TextOutput out;
  ASSERT_TRUE((*lm)->forward_text({1, 2, 3}, *video, &*text, &out, s).ok());
  EXPECT_EQ(out.logits_last.numel(), 300);
}

}  // namespace
}  // namespace vamba
