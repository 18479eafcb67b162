// The q/k/v/o projections that self- and cross-attention share: q, k, v with bias and o without
// (Qwen2's layout, under `{prefix}.q_proj` ...), checked against the head counts once at load.
#pragma once

#include <string>

#include "engine/layers/linear.h"

namespace vamba {

// Loads the four projections and returns head_dim; INVALID_ARGUMENT when the widths do not fit
// `num_heads` query and `num_kv_heads` key-value heads.
StatusOr<int64_t> load_attention_projections(const WeightLoader& loader, const std::string& prefix,
                                             int64_t num_heads, int64_t num_kv_heads, Linear* q,
                                             Linear* k, Linear* v, Linear* o);

}  // namespace vamba
