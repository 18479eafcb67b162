#include "pipelines/ask_run.h"

namespace vamba::pipelines {

bool AskRun::on_token(int64_t token, int64_t index) {
  if (index == 0) first_token_at_ = Clock::now();
  std::string delta = streamer_->push(static_cast<int32_t>(token));
  answer_.text += delta;
  // A stop string ends the answer before it (the string itself is not part of the answer).
  for (const auto& stop : options_.stop_strings) {
    if (stop.empty()) continue;
    const size_t at = answer_.text.find(stop);
    if (at != std::string::npos) {
      const size_t already = answer_.text.size() - delta.size();
      delta = at > already ? delta.substr(0, at - already) : std::string();
      answer_.text.resize(at);
      stopped_by_string_ = true;
    }
  }
  if (on_text_ && !delta.empty() && !on_text_(delta)) stopped_by_client_ = true;
  return !stopped_by_string_ && !stopped_by_client_;
}

StatusOr<Answer> AskRun::finish() {
  if (!error_.ok()) return error_;
  if (!sequence_->finished()) return failed_precondition("finish: the answer is not complete");
  GenerateResult result = sequence_->take_result();
  if (!stopped_by_string_) {
    const std::string tail = streamer_->flush();
    answer_.text += tail;
    if (on_text_ && !tail.empty()) on_text_(tail);
  }
  const auto end = Clock::now();
  answer_.tokens = std::move(result.tokens);
  if (first_token_at_ == Clock::time_point{}) first_token_at_ = end;
  answer_.time_to_first_token_s = std::chrono::duration<double>(first_token_at_ - started_).count();
  answer_.decode_s = std::chrono::duration<double>(end - first_token_at_).count();
  switch (result.reason) {
    case StopReason::kStopToken:
      answer_.finish_reason = "stop";
      break;
    case StopReason::kMaxTokens:
      answer_.finish_reason = "length";
      break;
    case StopReason::kCancelled:
      answer_.finish_reason = "cancelled";
      break;
    case StopReason::kCallback:
      answer_.finish_reason = stopped_by_string_ ? "stop_string" : "cancelled";
      break;
  }
  return std::move(answer_);
}

}  // namespace vamba::pipelines
