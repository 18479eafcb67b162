// A Vamba-Qwen2-VL checkpoint folder: config.json, preprocessor_config.json, the tensor store, and
// the one table of tensor names (weight_table) that the vision tower and the language model read
// by. Loading checks every table entry's shape and dtype class, fails on a missing required tensor,
// and reports the checkpoint tensors nothing asked for.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/model/config.h"
#include "engine/model/safetensors.h"

namespace vamba {

struct WeightSpec {
  std::string name;  // exact checkpoint name, e.g. "model.layers.3.vision_mixer.mixer.A_log"
  Shape shape;
  bool required = true;
};

// Every tensor a Vamba-Qwen2-VL checkpoint of this config holds, vision tower first.
std::vector<WeightSpec> weight_table(const VambaConfig& config);

// Checkpoint-name helpers so layers never spell names by hand.
std::string layer_weight(int layer, const std::string& suffix);  // "model.layers.{l}.{suffix}"
std::string vision_block_weight(int block,
                                const std::string& suffix);  // "visual.blocks.{b}.{suffix}"

struct Checkpoint {
  std::string dir;
  VambaConfig config;
  PreprocessorConfig preprocessor;
  TensorStore store;
  std::map<std::string, Tensor> weights;  // by checkpoint name; CPU views into the mapping
  std::vector<std::string> unused;        // checkpoint tensors not in the table

  // Opens `dir`, parses both configs, validates every tensor against weight_table().
  static StatusOr<Checkpoint> open(const std::string& dir);

  // The weight `name`; NOT_FOUND if the table lacks it (optional and absent).
  StatusOr<Tensor> weight(const std::string& name) const;
  // lm_head.weight, or model.embed_tokens.weight when the embeddings are tied and the checkpoint
  // has no separate head (the one optional table entry).
  StatusOr<Tensor> lm_head() const;
};

}  // namespace vamba
