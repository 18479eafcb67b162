// The generation loop over the hybrid LM: prefill the prompt against an encoded video, then decode
// token by token from the text KV cache (greedy or sampled), streaming each token to a callback,
// stopping at a stop token, at the token budget, on cancellation, or when the callback says so.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <random>
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

// One sequence being generated: its prompt, states, sampler and stop rules. generate() runs one;
// generate_batch() and the server's scheduler run many, feeding all their decode steps through one
// VambaLm::decode_step so the weights are read once per step for the whole batch.
class GenerationSequence {
 public:
  // `video` and `text` must outlive the sequence; `text` must not be shared with another one.
  GenerationSequence(std::vector<int64_t> prompt, const VideoState* video, TextState* text,
                     GenerateOptions options);

  // Runs the prompt and chooses the first token (or finishes at once: cancelled, no budget).
  Status prefill(const VambaLm& lm, const Stream& stream);
  // Chooses the next token from this sequence's logits row (vocab) f32 and applies the stop rules.
  Status accept(const Tensor& logits, const Stream& stream);
  // Same, with the greedy token already chosen (decode_step takes a batch's argmax in one launch);
  // only for a greedy sequence (greedy()).
  Status accept_greedy(const Tensor& logits, int64_t token);
  bool greedy() const { return options_.sampling.temperature <= 0.0f; }
  // Checks cancellation between steps (the flag may be set from another thread).
  void poll_cancel();

  bool finished() const { return finished_; }
  // The decode request for the next step: the last chosen token at the next position.
  DecodeRequest next_request() const { return {result_.tokens.back(), video_, text_}; }
  const GenerateResult& result() const { return result_; }
  GenerateResult take_result() { return std::move(result_); }

 private:
  Status take(int64_t token);  // records the token and applies the stop rules

  std::vector<int64_t> prompt_;
  const VideoState* video_;
  TextState* text_;
  GenerateOptions options_;
  std::mt19937_64 rng_;
  GenerateResult result_;
  bool finished_ = false;
};

// One decode step for every unfinished sequence in `sequences` (through one decode_step), each
// then choosing its next token. Finished sequences are skipped; none left is a no-op.
Status decode_step(const VambaLm& lm, const std::vector<GenerationSequence*>& sequences,
                   const Stream& stream);

// Runs `prompt` (at positions text->length …) and generates. `text` keeps the cache afterwards, so
// a conversation can continue with another call. The last generated token is not fed back (its
// logits are never needed), so text->length ends at prompt + tokens − 1.
StatusOr<GenerateResult> generate(const VambaLm& lm, const std::vector<int64_t>& prompt,
                                  const VideoState& video, TextState* text,
                                  const GenerateOptions& options, const Stream& stream);

// Several independent generations decoded together (each prompt prefilled alone, then every step
// batched). The same tokens as generate() on each (batched products may round differently in
// bf16, so sampled or greedy ties can differ there). Results in input order.
struct GenerateItem {
  std::vector<int64_t> prompt;
  const VideoState* video = nullptr;
  TextState* text = nullptr;
  GenerateOptions options;
};
StatusOr<std::vector<GenerateResult>> generate_batch(const VambaLm& lm,
                                                     std::vector<GenerateItem> items,
                                                     const Stream& stream);

}  // namespace vamba
