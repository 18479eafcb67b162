// The generation loop over the hybrid LM: prefill the prompt against an encoded video, then decode
// token by token from the text KV cache (greedy or sampled), streaming each token to a callback,
// stopping at a stop token, at the token budget, on cancellation, or when the callback says so.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "engine/models/vamba_lm.h"
#include "engine/ops/sampling.h"

namespace vamba {

struct GenerateOptions {
  int64_t max_new_tokens = 256;
  // Generation stops after emitting one of these (it is included in the output). Empty: run to
  // max_new_tokens.
  std::vector<int64_t> stop_token_ids;
  // temperature ≤ 0 is greedy (argmax).
  ops::SamplingParams sampling{0.0f, 0, 1.0f};
  uint64_t seed = 0;  // the sampler's generator; the same seed gives the same tokens
  // Set to true (from any thread) to stop before the next decode step.
  const std::atomic<bool>* cancel = nullptr;
  // Called with each new token and its index (0-based); return false to stop after it.
  std::function<bool(int64_t token, int64_t index)> on_token;
  // Called with each step's logits (vocab) f32 on the model's device, before the token is chosen.
  std::function<void(const Tensor& logits)> on_logits;
};

enum class StopReason { kStopToken, kMaxTokens, kCancelled, kCallback };
const char* stop_reason_name(StopReason reason);

struct GenerateResult {
  std::vector<int64_t> tokens;  // the new tokens (a stop token included)
  StopReason reason = StopReason::kMaxTokens;
  TextOutput prefill;  // the prompt's outputs (hidden states, first logits)
};

// Runs `prompt` (at positions text->length …) and generates. `text` keeps the cache afterwards, so
// a conversation can continue with another call. The last generated token is not fed back (its
// logits are never needed), so text->length ends at prompt + tokens − 1.
StatusOr<GenerateResult> generate(const VambaLm& lm, const std::vector<int64_t>& prompt,
                                  const VideoState& video, TextState* text,
                                  const GenerateOptions& options, const Stream& stream);

}  // namespace vamba
