#include "engine/generate/generate.h"

#include <algorithm>
#include <memory>
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

GenerationSequence::GenerationSequence(std::vector<int64_t> prompt, const VideoState* video,
                                       TextState* text, GenerateOptions options)
    : prompt_(std::move(prompt)),
      video_(video),
      text_(text),
      options_(std::move(options)),
      rng_(options_.seed) {}

void GenerationSequence::poll_cancel() {
  if (!finished_ && options_.cancel && options_.cancel->load()) {
    result_.reason = StopReason::kCancelled;
    finished_ = true;
  }
}

Status GenerationSequence::prefill(const VambaLm& lm, const Stream& stream) {
  if (options_.max_new_tokens < 0) return invalid_argument("generate: max_new_tokens < 0");
  if (video_ == nullptr || text_ == nullptr) return invalid_argument("generate: null state");
  poll_cancel();
  if (finished_) return ok_status();
  VAMBA_RETURN_IF_ERROR(lm.forward_text(prompt_, *video_, text_, &result_.prefill, stream));
  if (options_.max_new_tokens == 0) {
    result_.reason = StopReason::kMaxTokens;
    finished_ = true;
    return ok_status();
  }
  return accept(result_.prefill.logits_last, stream);
}

Status GenerationSequence::accept(const Tensor& logits, const Stream& stream) {
  if (finished_) return failed_precondition("generate: the sequence has finished");
  if (options_.on_logits) options_.on_logits(logits);
  int64_t token;
  if (options_.sampling.temperature <= 0.0f) {
    VAMBA_ASSIGN_OR_RETURN(token, ops::argmax(logits, stream));
  } else {
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    double u = uniform(rng_);
    if (u >= 1.0) u = std::nextafter(1.0, 0.0);
    VAMBA_ASSIGN_OR_RETURN(token, ops::sample(logits, options_.sampling, u, stream));
  }
  return take(token);
}

Status GenerationSequence::accept_greedy(const Tensor& logits, int64_t token) {
  if (finished_) return failed_precondition("generate: the sequence has finished");
  if (!greedy()) return failed_precondition("generate: accept_greedy on a sampled sequence");
  if (options_.on_logits) options_.on_logits(logits);
  return take(token);
}

Status GenerationSequence::take(int64_t token) {
  result_.tokens.push_back(token);
  const int64_t index = static_cast<int64_t>(result_.tokens.size()) - 1;
  const bool keep_going = !options_.on_token || options_.on_token(token, index);
  const auto& stops = options_.stop_token_ids;
  if (std::find(stops.begin(), stops.end(), token) != stops.end()) {
    result_.reason = StopReason::kStopToken;
    finished_ = true;
  } else if (!keep_going) {
    result_.reason = StopReason::kCallback;
    finished_ = true;
  } else if (static_cast<int64_t>(result_.tokens.size()) >= options_.max_new_tokens) {
    result_.reason = StopReason::kMaxTokens;
    finished_ = true;
  } else {
    poll_cancel();
  }
  return ok_status();
}

Status decode_step(const VambaLm& lm, const std::vector<GenerationSequence*>& sequences,
                   const Stream& stream) {
  std::vector<GenerationSequence*> live;
  std::vector<DecodeRequest> batch;
  for (GenerationSequence* s : sequences) {
    if (s == nullptr) return invalid_argument("decode_step: null sequence");
    s->poll_cancel();
    if (s->finished()) continue;
    live.push_back(s);
    batch.push_back(s->next_request());
  }
  if (live.empty()) return ok_status();
  Tensor logits;  // (B, vocab) f32
  VAMBA_RETURN_IF_ERROR(lm.decode_step(batch, &logits, stream));
  // Greedy rows: every row's argmax in one launch and one copy back (one synchronisation for the
  // batch instead of one per sequence).
  const int greedy = static_cast<int>(std::count_if(
      live.begin(), live.end(), [](const GenerationSequence* s) { return s->greedy(); }));
  std::vector<int64_t> ids;
  if (greedy > 1) {
    VAMBA_ASSIGN_OR_RETURN(ids, ops::argmax_rows(logits, stream));
  }
  for (size_t i = 0; i < live.size(); ++i) {
    VAMBA_ASSIGN_OR_RETURN(Tensor row,
                           logits.slice_rows(static_cast<int64_t>(i), static_cast<int64_t>(i) + 1));
    VAMBA_ASSIGN_OR_RETURN(row, row.reshape({lm.vocab_size()}));
    if (!ids.empty() && live[i]->greedy()) {
      VAMBA_RETURN_IF_ERROR(live[i]->accept_greedy(row, ids[i]));
    } else {
      VAMBA_RETURN_IF_ERROR(live[i]->accept(row, stream));
    }
  }
  return ok_status();
}

StatusOr<GenerateResult> generate(const VambaLm& lm, const std::vector<int64_t>& prompt,
                                  const VideoState& video, TextState* text,
                                  const GenerateOptions& options, const Stream& stream) {
  GenerationSequence seq(prompt, &video, text, options);
  VAMBA_RETURN_IF_ERROR(seq.prefill(lm, stream));
  while (!seq.finished()) VAMBA_RETURN_IF_ERROR(decode_step(lm, {&seq}, stream));
  return seq.take_result();
}

StatusOr<std::vector<GenerateResult>> generate_batch(const VambaLm& lm,
                                                     std::vector<GenerateItem> items,
                                                     const Stream& stream) {
  std::vector<std::unique_ptr<GenerationSequence>> seqs;
  std::vector<GenerationSequence*> ptrs;
  for (GenerateItem& item : items) {
    seqs.push_back(std::make_unique<GenerationSequence>(std::move(item.prompt), item.video,
                                                        item.text, std::move(item.options)));
    ptrs.push_back(seqs.back().get());
    VAMBA_RETURN_IF_ERROR(seqs.back()->prefill(lm, stream));
  }
  auto any_live = [&] {
    return std::any_of(ptrs.begin(), ptrs.end(), [](auto* s) { return !s->finished(); });
  };
  while (any_live()) VAMBA_RETURN_IF_ERROR(decode_step(lm, ptrs, stream));
  std::vector<GenerateResult> results;
  for (auto& s : seqs) results.push_back(s->take_result());
  return results;
}

}  // namespace vamba
