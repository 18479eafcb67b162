#include "service/stream_video.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "pipelines/frame_pairs.h"
#include "pipelines/stream_ingest.h"
#include "service/convert.h"
#include "service/status_map.h"
#include "vision/decode/byte_pipe.h"
#include "vision/decode/frame_reader.h"

namespace vamba::service {
namespace {

using Clock = std::chrono::steady_clock;

// Bytes buffered between the gRPC reads and the demuxer before reading pauses.
constexpr size_t kPipeHighWater = 4u << 20;

struct StreamSettings {
  pipelines::StreamIngestOptions ingest;
  double fps = 1;
  vision::PreResizeOptions pre_resize{256, 480};
  int64_t job_tokens = 0;  // the worker reservation of one job (a caption or answer may run in it)
};

StatusOr<StreamSettings> to_stream_settings(const v1::StreamConfig& c, const ServerOptions& o) {
  StreamSettings s;
  if (!std::isfinite(c.fps()) || c.fps() < 0 || c.fps() > 60) {
    return invalid_argument("config.fps must be in [0, 60] (0: 1)");
  }
  s.fps = c.fps() > 0 ? c.fps() : 1.0;
  if (!std::isfinite(c.caption_every_s()) || c.caption_every_s() < 0) {
    return invalid_argument("config.caption_every_s must be >= 0");
  }
  if (c.caption_every_s() > 0 && c.caption_every_s() < 2 / s.fps - 1e-9) {
    return invalid_argument("config.caption_every_s must cover one frame pair (2 / fps = " +
                            std::to_string(2 / s.fps) + " s)");
  }
  if (!std::isfinite(c.ask_every_s()) || c.ask_every_s() < 0) {
    return invalid_argument("config.ask_every_s must be >= 0");
  }
  if (c.caption_every_s() == 0 && c.questions().empty()) {
    return invalid_argument("config needs caption_every_s > 0 or at least one question");
  }
  if (c.questions_size() > 16) return invalid_argument("config.questions: at most 16");
  for (const auto& q : c.questions()) VAMBA_RETURN_IF_ERROR(check_question(q, o.limits));
  if (!c.prompt().empty()) VAMBA_RETURN_IF_ERROR(check_question(c.prompt(), o.limits));
  const int64_t budget = o.worker.max_reserved_tokens;
  if (c.window_tokens() < 0 || c.window_tokens() > budget) {
    return invalid_argument("config.window_tokens must be in [0, " + std::to_string(budget) +
                            "] (the server's token budget)");
  }
  if (c.shortest_edge() < 0 || c.longest_edge() < 0 || c.shortest_edge() > 8192 ||
      c.longest_edge() > 8192) {
    return invalid_argument("config.shortest_edge / longest_edge must be in [0, 8192]");
  }
  if (c.shortest_edge() > 0) s.pre_resize.shortest = c.shortest_edge();
  if (c.longest_edge() > 0) s.pre_resize.longest = c.longest_edge();
  VAMBA_ASSIGN_OR_RETURN(s.ingest.ask, to_ask_options(c.generation(), o.limits));
  s.ingest.caption_every_s = c.caption_every_s();
  s.ingest.caption_prompt = c.prompt();
  s.ingest.caption_context = c.caption_context() == v1::CAPTION_CONTEXT_STREAM
                                 ? pipelines::CaptionContext::kStream
                                 : pipelines::CaptionContext::kSegment;
  s.ingest.questions.assign(c.questions().begin(), c.questions().end());
  s.ingest.ask_every_s = c.ask_every_s();
  s.ingest.window_tokens = c.window_tokens() > 0
                               ? c.window_tokens()
                               : std::min<int64_t>(kDefaultStreamWindowTokens, budget);
  s.job_tokens = s.ingest.ask.max_new_tokens + 256;
  if (s.job_tokens > budget) {
    return invalid_argument("generation.max_tokens is too large for the server's token budget");
  }
  return s;
}

class StreamVideoCall : public grpc::ServerBidiReactor<v1::StreamChunk, v1::StreamEvent> {
 public:
  StreamVideoCall(Shared* s, std::string rid, Status auth)
      : s_(s), rid_(std::move(rid)), started_(Clock::now()) {
    s_->in_flight.fetch_add(1);
    if (!auth.ok()) {
      finish(to_grpc_status(auth));
      return;
    }
    pipe_->set_on_space([this] {
      if (!finishing()) StartRead(&chunk_);
    });
    StartRead(&chunk_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client closed its side (or the call is gone): the video ends here
      if (!have_config_) {
        finish(grpc::Status(grpc::INVALID_ARGUMENT, "the stream ended before a config message"));
        return;
      }
      pipe_->close();
      return;
    }
    if (!have_config_) {
      if (!chunk_.has_config()) {
        finish(grpc::Status(grpc::INVALID_ARGUMENT, "the first message must carry config"));
        return;
      }
      auto settings = to_stream_settings(chunk_.config(), s_->options);
      if (!settings.ok()) {
        finish(to_grpc_status(settings.status()));
        return;
      }
      settings_ = std::move(*settings);
      have_config_ = true;
      reader_ = std::thread([this] { run(); });
    }
    bytes_received_ += static_cast<int64_t>(chunk_.data().size());
    const bool room =
        pipe_->write(reinterpret_cast<const uint8_t*>(chunk_.data().data()), chunk_.data().size());
    // Over the high-water mark: the pipe's on_space callback starts the next read instead. A call
    // that is finishing reads no more (gRPC would fail the read anyway).
    if (!room) {
      spdlog::debug("[{}] StreamVideo: reading paused ({} bytes buffered)", rid_,
                    pipe_->buffered());
    }
    if (room && !finishing()) StartRead(&chunk_);
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock<std::mutex> lock(mu_);
    writing_ = false;
    if (!ok) {
      pending_.clear();
      cancel_->store(true);
      pipe_->fail(cancelled("the stream was closed"));
    }
    pump(lock);
  }

  void OnCancel() override {
    cancel_->store(true);
    pipe_->fail(cancelled("cancelled by the client"));
    // Without a reader thread nobody else will finish the call.
    if (!have_config_) finish(grpc::Status(grpc::CANCELLED, "cancelled by the client"));
  }

  void OnDone() override {
    if (reader_.joinable()) {
      if (reader_.get_id() == std::this_thread::get_id()) {
        reader_.detach();
      } else {
        reader_.join();  // it has called finish(): only its return is left
      }
    }
    s_->in_flight.fetch_sub(1);
    delete this;
  }

 private:
  // The reader thread: demux + decode + sample + preprocess here, model work on the worker.
  void run() {
    const Status st = ingest();
    if (!st.ok() && cancel_->load()) {
      finish(grpc::Status(grpc::CANCELLED, "cancelled by the client"));
    } else {
      finish(to_grpc_status(st));
    }
    // Nothing after finish(): OnDone may delete this object as soon as it has run.
  }

  Status ingest() {
    std::unique_ptr<pipelines::StreamIngest> ingest;
    const Status st = ingest_into(&ingest);
    if (!ingest) return st;
    // The video state is freed on the worker too: device memory belongs to the model's thread.
    const Status freed = on_worker(
        [&] {
          ingest.reset();
          return ok_status();
        },
        /*even_if_cancelled=*/true);
    return st.ok() ? freed : st;
  }

  Status ingest_into(std::unique_ptr<pipelines::StreamIngest>* ingest_out) {
    std::unique_ptr<pipelines::StreamIngest>& ingest = *ingest_out;
    vision::DecodeOptions decode;
    decode.cancel = cancel_;
    decode.threads = 2;
    VAMBA_ASSIGN_OR_RETURN(auto reader,
                           vision::FrameReader::open_pipe(pipe_, decode, "<stream " + rid_ + ">"));
    pipelines::FramePairSampler sampler(settings_.fps, settings_.pre_resize,
                                        s_->qa->checkpoint().preprocessor);
    pipelines::StreamSink sink;
    sink.on_caption = [this](const pipelines::StreamCaption& c) {
      v1::StreamEvent e;
      v1::StreamCaption* out = e.mutable_caption();
      out->set_start_s(c.start);
      out->set_end_s(c.end);
      out->set_text(c.answer.text);
      out->set_finish_reason(c.answer.finish_reason);
      out->set_frames(c.frames);
      out->set_video_tokens(c.video_tokens);
      s_->metrics.add_tokens_generated(static_cast<int64_t>(c.answer.tokens.size()));
      write(std::move(e));
    };
    sink.on_answer = [this](const pipelines::StreamAnswer& a) {
      v1::StreamEvent e;
      v1::StreamAnswer* out = e.mutable_answer();
      out->set_at_s(a.at);
      out->set_question(a.question);
      out->set_text(a.answer.text);
      out->set_finish_reason(a.answer.finish_reason);
      out->set_video_tokens(a.video_tokens);
      s_->metrics.add_tokens_generated(static_cast<int64_t>(a.answer.tokens.size()));
      write(std::move(e));
    };
    pipelines::StreamIngestOptions options = settings_.ingest;
    options.ask.cancel = cancel_.get();
    VAMBA_RETURN_IF_ERROR(on_worker([&]() -> Status {
      VAMBA_ASSIGN_OR_RETURN(ingest, pipelines::StreamIngest::create(s_->qa.get(), options, sink));
      return ok_status();
    }));
    for (;;) {
      VAMBA_ASSIGN_OR_RETURN(std::optional<vision::VideoFrame> frame,
                             reader->next(sampler.next_time()));
      if (!frame) break;
      VAMBA_ASSIGN_OR_RETURN(std::optional<pipelines::FramePair> pair,
                             sampler.add(std::move(*frame)));
      if (!pair) continue;
      s_->metrics.add_frames_decoded(pair->patches.grid_t *
                                     s_->qa->checkpoint().preprocessor.temporal_patch_size);
      VAMBA_RETURN_IF_ERROR(on_worker([&] { return ingest->add_pair(*pair); }));
    }
    VAMBA_RETURN_IF_ERROR(on_worker([&] { return ingest->finish(); }));
    const pipelines::StreamStats& st = ingest->stats();
    v1::StreamEvent e;
    v1::StreamEnd* end = e.mutable_end();
    end->set_duration_s(st.ingested_until);
    end->set_frames(st.frames);
    end->set_video_tokens(st.tokens_appended);
    end->set_video_tokens_held(st.tokens_held);
    end->set_video_tokens_dropped(st.tokens_dropped);
    end->set_bytes_received(bytes_received_);
    if (st.pairs > 0) {
      end->set_vision_ms_per_pair(st.vision_s * 1e3 / st.pairs);
      end->set_video_prefill_ms_per_pair(st.append_s * 1e3 / st.pairs);
    }
    write(std::move(e));
    return ok_status();
  }

  // Runs `fn` as one worker job and waits for it. A full queue or token budget is waited out
  // (a stream is long-lived; it takes its turn); a stopping server ends the stream.
  Status on_worker(const std::function<Status()>& fn, bool even_if_cancelled = false) {
    auto done = std::make_shared<std::promise<Status>>();
    std::future<Status> result = done->get_future();
    auto cancel = cancel_;
    for (int attempt = 0;; ++attempt) {
      if (cancel->load() && !even_if_cancelled) return cancelled("cancelled by the client");
      const Status st = s_->worker->submit(
          [fn, done, cancel, even_if_cancelled] {
            // A call cancelled while its job waited skips the model work (not the clean-up).
            if (cancel->load() && !even_if_cancelled) {
              done->set_value(cancelled("cancelled by the client"));
            } else {
              done->set_value(fn());
            }
          },
          settings_.job_tokens);
      if (st.ok()) break;
      if (st.code() != StatusCode::kResourceExhausted) {
        // A stopping worker runs nothing more; the state can be freed here then.
        if (even_if_cancelled) return fn();
        return st;
      }
      if (attempt % 50 == 0) {
        spdlog::debug("[{}] StreamVideo waits for the worker: {}", rid_, st.message());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return result.get();
  }

  bool finishing() {
    std::lock_guard<std::mutex> lock(mu_);
    return finishing_;
  }

  void write(v1::StreamEvent event) {
    std::unique_lock<std::mutex> lock(mu_);
    if (finishing_) return;
    pending_.push_back(std::move(event));
    pump(lock);
  }

  void finish(const grpc::Status& status) {
    std::unique_lock<std::mutex> lock(mu_);
    if (finishing_) return;
    finishing_ = true;
    status_ = status;
    pump(lock);
  }

  // Starts the next write, or Finish once nothing is left to write (gRPC allows one write in
  // flight). Called with mu_ held; gRPC is called without it.
  void pump(std::unique_lock<std::mutex>& lock) {
    if (writing_ || finished_) return;
    if (!pending_.empty()) {
      current_ = std::move(pending_.front());
      pending_.pop_front();
      writing_ = true;
      lock.unlock();
      StartWrite(&current_);
      return;
    }
    if (finishing_) {
      finished_ = true;
      const grpc::Status status = status_;
      lock.unlock();
      record(status);
      Finish(status);
    }
  }

  void record(const grpc::Status& status) {
    const std::string code = status_code_name(static_cast<StatusCode>(status.error_code()));
    s_->metrics.count_request("StreamVideo", code);
    const double secs = std::chrono::duration<double>(Clock::now() - started_).count();
    if (status.ok()) {
      spdlog::info("[{}] StreamVideo OK in {:.3f}s ({} bytes)", rid_, secs, bytes_received_);
    } else {
      spdlog::info("[{}] StreamVideo {}: {} ({:.3f}s)", rid_, code, status.error_message(), secs);
    }
  }

  Shared* s_;
  const std::string rid_;
  const Clock::time_point started_;
  const std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
  const std::shared_ptr<vision::BytePipe> pipe_ =
      std::make_shared<vision::BytePipe>(kPipeHighWater);
  v1::StreamChunk chunk_;
  std::atomic<bool> have_config_{false};
  StreamSettings settings_;
  std::atomic<int64_t> bytes_received_{0};
  std::thread reader_;
  std::mutex mu_;
  std::deque<v1::StreamEvent> pending_;
  v1::StreamEvent current_;
  bool writing_ = false, finishing_ = false, finished_ = false;
  grpc::Status status_;
};

}  // namespace

grpc::ServerBidiReactor<v1::StreamChunk, v1::StreamEvent>* start_stream_video(
    Shared* s, grpc::CallbackServerContext* ctx, std::string rid, Status auth) {
  (void)ctx;
  return new StreamVideoCall(s, std::move(rid), std::move(auth));
}

}  // namespace vamba::service
