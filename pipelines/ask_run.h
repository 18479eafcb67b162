// One question being answered about an encoded video, split into the parts a scheduler needs to
// decode many questions together: VideoQa::start_ask() tokenizes the question and prefills it
// (choosing the first token), VideoQa::step() advances any number of runs by one token through one
// batched decode step, and finish() turns a finished run into its Answer. The streamed text goes
// to the run's own callback as tokens arrive, on the thread that steps it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "engine/generate/generate.h"
#include "engine/tokenizer/streaming_decoder.h"
#include "pipelines/video_qa.h"

namespace vamba::pipelines {

class AskRun {
 public:
  // True once generation has stopped (stop token, budget, stop string, cancellation, client
  // callback, or an error).
  bool done() const { return !error_.ok() || sequence_->finished(); }
  // The answer (or the error that ended the run). Call once, when done().
  StatusOr<Answer> finish();

  // Marks the run failed (a batched step it was part of failed).
  void fail(Status error) { error_ = std::move(error); }

  GenerationSequence* sequence() { return sequence_.get(); }

 private:
  friend class VideoQa;
  using Clock = std::chrono::steady_clock;
  AskRun() = default;
  bool on_token(int64_t token, int64_t index);

  std::shared_ptr<const EncodedVideo> video_;  // kept alive while its K/V are read
  AskOptions options_;
  std::function<bool(const std::string&)> on_text_;
  std::unique_ptr<StreamingDecoder> streamer_;
  std::unique_ptr<TextState> text_;
  std::unique_ptr<GenerationSequence> sequence_;
  Answer answer_;
  bool stopped_by_string_ = false;
  bool stopped_by_client_ = false;
  Clock::time_point started_{};
  Clock::time_point first_token_at_{};
  Status error_;
};

}  // namespace vamba::pipelines
