// Tensor-level next-token selection over one row of logits (V), f32 or activation dtype. Results
// come back to the host (these ops synchronise `stream`).
#pragma once

#include <vector>

#include "engine/ops/common.h"
#include "kernels/reference/sampling.h"

namespace vamba::ops {

using SamplingParams = kernels::reference::SamplingParams;

// The index of the largest logit (lowest index among ties). logits: (V) or (1, V).
StatusOr<int64_t> argmax(const Tensor& logits, const Stream& stream);

// The argmax of every row of (B, V) logits, with one launch and one copy back for the batch (a
// batched decode step's greedy tokens).
StatusOr<std::vector<int64_t>> argmax_rows(const Tensor& logits, const Stream& stream);

// The k largest logits, descending (ties by lower index). values, ids: resized to k.
Status top_k(const Tensor& logits, int64_t k, std::vector<float>* values, std::vector<int64_t>* ids,
             const Stream& stream);

// Temperature, top-k, top-p, then inverse-CDF with u ∈ [0, 1) (see kernels/reference/sampling.h).
// The CUDA backend must pick the same token as the reference for the same u (up to ties and
// bf16 rounding of the logits).
StatusOr<int64_t> sample(const Tensor& logits, const SamplingParams& params, double u,
                         const Stream& stream);

}  // namespace vamba::ops
