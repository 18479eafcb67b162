// Next-token selection from one row of logits: greedy (argmax), top-k listing, and sampling with
// temperature, top-k and top-p (applied in that order, as Hugging Face's logits warpers do).
// Sampling takes its random number as an argument, so a CUDA implementation given the same u picks
// the same token, and the generation loop owns the seeded generator.
#pragma once

#include <cstdint>

namespace vamba::kernels::reference {

// logits: (n). The index of the largest value, the lowest index among equal maxima (NaN ignored;
// all NaN gives 0).
int64_t argmax(const float* logits, int64_t n);

// The k largest logits in descending order, ties by lower index. values, ids: (k), k ≤ n.
void top_k(const float* logits, int64_t n, int64_t k, float* values, int64_t* ids);

struct SamplingParams {
  float temperature = 1.0f;  // ≤ 0: greedy (argmax)
  int64_t top_k = 0;         // ≤ 0 or ≥ n: no top-k; otherwise keep logits ≥ the k-th largest
  float top_p = 1.0f;        // ≥ 1: no nucleus; otherwise keep the smallest most-probable prefix
                             // whose probability reaches top_p (at least one token)
};

// logits: (n); u: uniform in [0, 1). Scales by 1/temperature, keeps the top-k, then the nucleus,
// renormalises (softmax in double) and returns the first token (in descending-probability order)
// whose cumulative probability exceeds u.
int64_t sample(const float* logits, int64_t n, const SamplingParams& params, double u);

}  // namespace vamba::kernels::reference
