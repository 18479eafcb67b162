#include "service/ask_flow.h"

#include <spdlog/spdlog.h>

#include "pipelines/ask_run.h"
#include "service/convert.h"

namespace vamba::service {
namespace {

using Clock = std::chrono::steady_clock;
using pipelines::EncodedVideo;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// An answer being generated: the worker advances all of these together, one batched decode step
// at a time (pipelines/worker.h), and finish() hands the summary to the sink.
class AskContinuation : public pipelines::Continuation {
 public:
  AskContinuation(Shared* s, std::shared_ptr<AnswerSink> sink, std::shared_ptr<AskJob> job,
                  std::shared_ptr<const EncodedVideo> video, double queue_s)
      : s_(s),
        sink_(std::move(sink)),
        job_(std::move(job)),
        video_(std::move(video)),
        queue_s_(queue_s) {}

  Status start() {
    job_->ask.cancel = sink_->cancel_flag().get();
    AnswerSink* sink = sink_.get();  // outlives the run: both are owned by this continuation
    VAMBA_ASSIGN_OR_RETURN(
        run_,
        s_->qa->start_ask(video_, job_->question, job_->ask, [sink](const std::string& delta) {
          return sink->delta(delta) && !sink->cancelled();
        }));
    return ok_status();
  }
  pipelines::AskRun* run() { return run_.get(); }
  bool done() const override { return run_->done(); }
  void finish() override { sink_->finish(summarize(run_->finish())); }

 private:
  StatusOr<v1::AskSummary> summarize(StatusOr<pipelines::Answer> answer) {
    if (!answer.ok()) return answer.status();
    if (answer->finish_reason == "cancelled" || sink_->cancelled()) {
      return cancelled("cancelled by the client");
    }
    s_->metrics.observe_ttft(answer->time_to_first_token_s);
    if (answer->tokens.size() > 1) s_->metrics.observe_tokens_per_s(answer->tokens_per_s());
    s_->metrics.add_tokens_generated(static_cast<int64_t>(answer->tokens.size()));

    const EncodedVideo& video = *video_;
    v1::AskSummary done;
    done.set_finish_reason(answer->finish_reason);
    done.set_prompt_tokens(answer->prompt_tokens);
    done.set_completion_tokens(static_cast<int64_t>(answer->tokens.size()));
    done.set_frames_used(video.frames_used);
    done.set_video_tokens(video.video_tokens);
    done.set_video_cached(job_->video.encoded != nullptr);
    for (int64_t t : answer->tokens) done.add_tokens(t);
    done.set_text(answer->text);
    v1::Timings* t = done.mutable_timings();
    if (!job_->video.encoded) fill_encode_timings(video.timings, t);
    t->set_queue_s(queue_s_);
    t->set_time_to_first_token_s(answer->time_to_first_token_s);
    t->set_generate_s(answer->decode_s);
    t->set_tokens_per_s(answer->tokens_per_s());
    return done;
  }

  Shared* s_;
  std::shared_ptr<AnswerSink> sink_;
  std::shared_ptr<AskJob> job_;
  std::shared_ptr<const EncodedVideo> video_;
  double queue_s_;
  std::unique_ptr<pipelines::AskRun> run_;
};

// Runs on the worker: encodes the video if needed and prefills the question; the answer then goes
// on as a continuation, decoded together with the other live answers.
std::unique_ptr<pipelines::Continuation> start_ask(Shared* s,
                                                   const std::shared_ptr<AnswerSink>& sink,
                                                   const std::shared_ptr<AskJob>& job) {
  if (sink->cancelled()) {
    sink->finish(cancelled("cancelled while queued"));
    return nullptr;
  }
  const double queue_s = seconds_since(job->submitted);
  auto encoded = ensure_encoded(s, job->video, job->encode, sink->cancel_flag());
  if (!encoded.ok()) {
    sink->finish(encoded.status().with_context("video " + job->video.describe));
    return nullptr;
  }
  auto next = std::make_unique<AskContinuation>(s, sink, job, *encoded, queue_s);
  const Status st = next->start();
  if (!st.ok()) {
    sink->finish(st);
    return nullptr;
  }
  sink->started();
  return next;
}

}  // namespace

StatusOr<ResolvedVideo> resolve_video(Shared* s, const v1::VideoSource& source,
                                      bool allow_encoded) {
  VAMBA_RETURN_IF_ERROR(check_source(source));
  ResolvedVideo r;
  switch (source.source_case()) {
    case v1::VideoSource::kUri: {
      // The checked (canonical) path is what gets opened, not the string the client sent.
      VAMBA_ASSIGN_OR_RETURN(r.input.source, s->sources.resolve(source.uri()));
      r.describe = source.uri();
      break;
    }
    case v1::VideoSource::kData:
      r.input.bytes =
          std::make_shared<const std::vector<uint8_t>>(source.data().begin(), source.data().end());
      r.describe = std::to_string(source.data().size()) + " inline bytes";
      break;
    case v1::VideoSource::kVideoId: {
      VAMBA_ASSIGN_OR_RETURN(pipelines::CachedVideo cached, s->cache->get(source.video_id()));
      if (cached.is_encoded()) {
        if (!allow_encoded) {
          return invalid_argument("video id '" + source.video_id() +
                                  "' is an encoded video; this call needs the raw video (upload "
                                  "it, or pass its uri)");
        }
        r.encoded = cached.encoded;
      } else {
        r.input.bytes = cached.raw;
      }
      r.describe = source.video_id();
      break;
    }
    case v1::VideoSource::SOURCE_NOT_SET:
      break;
  }
  return r;
}

StatusOr<std::shared_ptr<const EncodedVideo>> ensure_encoded(
    Shared* s, const ResolvedVideo& video, pipelines::VideoEncodeOptions encode,
    const std::shared_ptr<std::atomic<bool>>& cancel) {
  if (video.encoded) return video.encoded;
  encode.decode.cancel = cancel;
  auto encoded = s->qa->encode(video.input, encode);
  if (encoded.ok()) s->metrics.add_frames_decoded((*encoded)->frames_used);
  return encoded;
}

int64_t ask_cost(const pipelines::AskOptions& ask, const std::string& question) {
  return ask.max_new_tokens + static_cast<int64_t>(question.size()) + 64;
}

StatusOr<std::shared_ptr<AskJob>> make_ask_job(Shared* s, const v1::AskRequest& request) {
  auto job = std::make_shared<AskJob>();
  VAMBA_RETURN_IF_ERROR(check_question(request.question(), s->options.limits));
  job->question = request.question();
  VAMBA_ASSIGN_OR_RETURN(job->encode, to_encode_options(request.sampling(), s->options.limits));
  VAMBA_ASSIGN_OR_RETURN(job->ask, to_ask_options(request.generation(), s->options.limits));
  VAMBA_ASSIGN_OR_RETURN(job->video, resolve_video(s, request.video(), true));
  return job;
}

Status submit_ask(Shared* s, std::shared_ptr<AnswerSink> sink, std::shared_ptr<AskJob> job) {
  job->submitted = Clock::now();
  const int64_t cost = ask_cost(job->ask, job->question);
  return s->worker->submit_continuing(
      [s, sink = std::move(sink), job = std::move(job)] { return start_ask(s, sink, job); }, cost);
}

void advance_answers(Shared* s, const std::vector<pipelines::Continuation*>& live) {
  std::vector<pipelines::AskRun*> runs;
  for (pipelines::Continuation* c : live) runs.push_back(static_cast<AskContinuation*>(c)->run());
  const Status st = s->qa->step(runs);  // a failure marks every run failed; each reports it
  if (!st.ok()) {
    spdlog::error("batched decode step over {} answers failed: {}", runs.size(), st.to_string());
  }
}

}  // namespace vamba::service
