#include "engine/generate/generate.h"

#include <algorithm>
#include <random>

namespace vamba {

const char* stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::kStopToken:
      return "stop_token";
    case StopReason::kMaxTokens:
      return "max_tokens";
    case StopReason::kCancelled:
      return "cancelled";
    case StopReason::kCallback:
      return "callback";
  }
  return "unknown";
}

StatusOr<GenerateResult> generate(const VambaLm& lm, const std::vector<int64_t>& prompt,
                                  const VideoState& video, TextState* text,
                                  const GenerateOptions& options, const Stream& stream) {
  if (options.max_new_tokens < 0) return invalid_argument("generate: max_new_tokens < 0");
  GenerateResult result;
  auto cancelled = [&] { return options.cancel && options.cancel->load(); };
  if (cancelled()) {
    result.reason = StopReason::kCancelled;
    return result;
  }
  VAMBA_RETURN_IF_ERROR(lm.forward_text(prompt, video, text, &result.prefill, stream));
  if (options.max_new_tokens == 0) return result;

  std::mt19937_64 rng(options.seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  Tensor logits = result.prefill.logits_last;  // (vocab) f32
  TextOutput step;
  for (int64_t i = 0;; ++i) {
    if (options.on_logits) options.on_logits(logits);
    int64_t token;
    if (options.sampling.temperature <= 0.0f) {
      VAMBA_ASSIGN_OR_RETURN(token, ops::argmax(logits, stream));
    } else {
      double u = uniform(rng);
      if (u >= 1.0) u = std::nextafter(1.0, 0.0);
      VAMBA_ASSIGN_OR_RETURN(token, ops::sample(logits, options.sampling, u, stream));
    }
    result.tokens.push_back(token);
    const bool keep_going = !options.on_token || options.on_token(token, i);
    if (std::find(options.stop_token_ids.begin(), options.stop_token_ids.end(), token) !=
        options.stop_token_ids.end()) {
      result.reason = StopReason::kStopToken;
      break;
    }
    if (!keep_going) {
      result.reason = StopReason::kCallback;
      break;
    }
    if (static_cast<int64_t>(result.tokens.size()) >= options.max_new_tokens) {
      result.reason = StopReason::kMaxTokens;
      break;
    }
    if (cancelled()) {
      result.reason = StopReason::kCancelled;
      break;
    }
    VAMBA_RETURN_IF_ERROR(lm.forward_text({token}, video, text, &step, stream));
    logits = step.logits_last;
  }
  return result;
}

}  // namespace vamba
