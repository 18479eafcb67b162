// The Ask path that the gRPC API (vamba.v1.VideoQa/Ask) and the OpenAI-compatible HTTP API
// (/v1/chat/completions) share: a request (as a v1::AskRequest) is checked and its video resolved
// on the caller's thread, then submitted to the worker, which encodes the video if needed,
// prefills the question, and decodes the answer together with every other live answer (one
// batched step for all, see pipelines/worker.h). Where the answer goes is an AnswerSink: a gRPC
// stream or an HTTP response.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "pipelines/video_qa.h"
#include "pipelines/worker.h"
#include "service/shared_state.h"
#include "vamba/v1/vamba.pb.h"

namespace vamba::service {

// A video as the worker will need it: already encoded (from the cache), or an input to encode.
struct ResolvedVideo {
  std::shared_ptr<const pipelines::EncodedVideo> encoded;
  pipelines::VideoInput input;
  std::string describe;  // for logs
};

// Runs on the caller's thread (cheap): the cache lookup happens at admission, so an id evicted
// while the request waits in the queue is still answered. `allow_encoded` false: an encoded id is
// INVALID_ARGUMENT (the call needs the raw video).
StatusOr<ResolvedVideo> resolve_video(Shared* s, const v1::VideoSource& source, bool allow_encoded);

// Encodes the video if it is not encoded yet; runs on the worker.
StatusOr<std::shared_ptr<const pipelines::EncodedVideo>> ensure_encoded(
    Shared* s, const ResolvedVideo& video, pipelines::VideoEncodeOptions encode,
    const std::shared_ptr<std::atomic<bool>>& cancel);

// A rough reservation of the token budget: the answer, the question and the chat template.
int64_t ask_cost(const pipelines::AskOptions& ask, const std::string& question);

// One checked Ask, ready for the worker.
struct AskJob {
  ResolvedVideo video;
  pipelines::VideoEncodeOptions encode;
  pipelines::AskOptions ask;
  std::string question;
  std::chrono::steady_clock::time_point submitted;
};

// Every check of an AskRequest that can be made before the video is opened (question, sampling,
// generation against the server's limits), and the video resolved (source policy, cache).
StatusOr<std::shared_ptr<AskJob>> make_ask_job(Shared* s, const v1::AskRequest& request);

// Where one answer goes. Called on the worker thread; implementations hand the work to their
// own threads (gRPC reactors, the HTTP handler) and must not block.
class AnswerSink {
 public:
  virtual ~AnswerSink() = default;
  // Set when the client is gone (or its deadline passed): queued work is skipped, encoding and
  // generation stop at the next frame or token.
  virtual const std::shared_ptr<std::atomic<bool>>& cancel_flag() const = 0;
  bool cancelled() const { return cancel_flag()->load(); }
  // The video is encoded and the question prefilled: the answer begins (deltas follow).
  virtual void started() {}
  // The next piece of the answer (complete UTF-8 only); false stops generation.
  virtual bool delta(const std::string& text) = 0;
  // Called exactly once: the summary (with the whole answer and its token ids), or why there is
  // none — CANCELLED when the client went away.
  virtual void finish(StatusOr<v1::AskSummary> result) = 0;
};

// Queues the job on the worker (RESOURCE_EXHAUSTED when the queue or the token budget is full,
// UNAVAILABLE once stopping). When this returns OK, `sink` will be finished exactly once.
Status submit_ask(Shared* s, std::shared_ptr<AnswerSink> sink, std::shared_ptr<AskJob> job);

// One batched decode step for every live answer: the worker's AdvanceFn (every continuation the
// worker holds comes from submit_ask).
void advance_answers(Shared* s, const std::vector<pipelines::Continuation*>& live);

}  // namespace vamba::service
