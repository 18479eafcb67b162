#include "service/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>

#include "engine/core/allocator.h"
#include "pipelines/ask_run.h"
#include "pipelines/video_cache.h"
#include "service/ask_flow.h"
#include "service/bearer_auth.h"
#include "service/caption_plan.h"
#include "service/metrics.h"
#include "service/openai_http.h"
#include "service/shared_state.h"
#include "service/source_policy.h"
#include "service/status_map.h"
#include "service/stream_video.h"
#include "vamba/v1/vamba.grpc.pb.h"

namespace vamba::service {
namespace {

using Clock = std::chrono::steady_clock;
using pipelines::CachedVideo;
using pipelines::EncodedVideo;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

const char* kServiceName = "vamba.v1.VideoQa";
const char* kDefaultCaptionPrompt = "Describe what happens in this part of the video.";

std::string code_name(grpc::StatusCode code) {
  return status_code_name(static_cast<StatusCode>(code));
}

// "x-request-id" from the client when it sent one, else a server counter; it tags every log line.
std::string request_id(Shared* s, const grpc::CallbackServerContext* ctx) {
  const auto& md = ctx->client_metadata();
  auto it = md.find("x-request-id");
  if (it != md.end() && !it->second.empty() && it->second.size() <= 128) {
    return std::string(it->second.data(), it->second.size());
  }
  return "r" + std::to_string(s->next_request.fetch_add(1));
}

Status check_auth(const Shared* s, const grpc::CallbackServerContext* ctx) {
  const auto& md = ctx->client_metadata();
  auto it = md.find("authorization");
  const std::string value =
      it == md.end() ? std::string() : std::string(it->second.data(), it->second.size());
  return check_bearer(s->options.auth_token, it == md.end() ? nullptr : &value,
                      "'authorization: Bearer <token>' metadata");
}

// Counts a finished call and logs it.
void record(Shared* s, const std::string& method, const std::string& rid,
            const grpc::Status& status, Clock::time_point started) {
  s->metrics.count_request(method, code_name(status.error_code()));
  if (status.ok()) {
    spdlog::info("[{}] {} OK in {:.3f}s", rid, method, seconds_since(started));
  } else {
    spdlog::info("[{}] {} {}: {} ({:.3f}s)", rid, method, code_name(status.error_code()),
                 status.error_message(), seconds_since(started));
  }
}

// Why a call stopped early: its deadline passed, or the client went away.
grpc::Status cancel_status(std::chrono::system_clock::time_point deadline) {
  if (std::chrono::system_clock::now() >= deadline) {
    return grpc::Status(grpc::DEADLINE_EXCEEDED, "the call's deadline passed");
  }
  return grpc::Status(grpc::CANCELLED, "cancelled by the client");
}

// A server-streaming call whose messages come from the worker thread. Writes are queued and sent
// one at a time (gRPC allows one write in flight); finish() sends the status after the queued
// messages. The reactor keeps itself alive until OnDone, and the worker holds a shared_ptr, so
// calls after OnDone are harmless no-ops.
template <class Resp>
class StreamCall : public grpc::ServerWriteReactor<Resp> {
 public:
  static std::shared_ptr<StreamCall> create(Shared* s, std::string method, std::string rid) {
    std::shared_ptr<StreamCall> call(new StreamCall(s, std::move(method), std::move(rid)));
    call->self_ = call;
    s->in_flight.fetch_add(1);
    return call;
  }

  const std::shared_ptr<std::atomic<bool>>& cancel_flag() const { return cancel_; }
  bool cancelled() const { return cancel_->load(); }
  const std::string& rid() const { return rid_; }

  void write(Resp msg) {
    std::unique_lock<std::mutex> lock(mu_);
    if (finishing_) return;
    pending_.push_back(std::move(msg));
    pump(lock);
  }

  void finish(const grpc::Status& status) {
    std::unique_lock<std::mutex> lock(mu_);
    if (finishing_) return;
    finishing_ = true;
    status_ = status;
    pump(lock);
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock<std::mutex> lock(mu_);
    writing_ = false;
    if (!ok) {  // the stream is gone (cancelled, deadline): stop sending
      pending_.clear();
      cancel_->store(true);
      if (!finishing_) {
        finishing_ = true;
        status_ = grpc::Status(grpc::CANCELLED, "the stream was closed");
      }
    }
    pump(lock);
  }

  void OnCancel() override {
    cancel_->store(true);
    finish(cancel_status(deadline_));
  }
  void set_deadline(std::chrono::system_clock::time_point deadline) { deadline_ = deadline; }
  std::chrono::system_clock::time_point deadline() const { return deadline_; }

  void OnDone() override {
    std::shared_ptr<StreamCall> keep = std::move(self_);  // released after the lock below
    std::lock_guard<std::mutex> lock(mu_);
    s_->in_flight.fetch_sub(1);
  }

 private:
  StreamCall(Shared* s, std::string method, std::string rid)
      : s_(s), method_(std::move(method)), rid_(std::move(rid)), started_(Clock::now()) {}

  // Starts the next write, or Finish once nothing is left to write. Called with mu_ held; gRPC is
  // called without it (a reaction may run inline and take mu_ again).
  void pump(std::unique_lock<std::mutex>& lock) {
    if (writing_ || finished_) return;
    if (!pending_.empty()) {
      current_ = std::move(pending_.front());
      pending_.pop_front();
      writing_ = true;
      lock.unlock();
      this->StartWrite(&current_);
      return;
    }
    if (finishing_) {
      finished_ = true;
      const grpc::Status status = status_;
      lock.unlock();
      record(s_, method_, rid_, status, started_);
      this->Finish(status);
    }
  }

  Shared* s_;
  const std::string method_, rid_;
  const Clock::time_point started_;
  const std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
  std::chrono::system_clock::time_point deadline_ = std::chrono::system_clock::time_point::max();
  std::mutex mu_;
  std::deque<Resp> pending_;
  Resp current_;
  bool writing_ = false, finishing_ = false, finished_ = false;
  grpc::Status status_;
  std::shared_ptr<StreamCall> self_;
};

// A unary call answered from the worker. The response is copied in by finish() only if the call
// is still open, so a cancelled call never has its (gRPC-owned) response written after OnDone.
template <class Resp>
class UnaryCall : public grpc::ServerUnaryReactor {
 public:
  static std::shared_ptr<UnaryCall> create(Shared* s, Resp* response, std::string method,
                                           std::string rid) {
    std::shared_ptr<UnaryCall> call(new UnaryCall(s, response, std::move(method), std::move(rid)));
    call->self_ = call;
    s->in_flight.fetch_add(1);
    return call;
  }
  const std::shared_ptr<std::atomic<bool>>& cancel_flag() const { return cancel_; }
  bool cancelled() const { return cancel_->load(); }

  void finish(const grpc::Status& status, const Resp* response = nullptr) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) return;
      finished_ = true;
      if (response && status.ok()) *response_ = *response;
    }
    record(s_, method_, rid_, status, started_);
    Finish(status);
  }
  void OnCancel() override {
    cancel_->store(true);
    finish(cancel_status(deadline_));
  }
  void set_deadline(std::chrono::system_clock::time_point deadline) { deadline_ = deadline; }
  std::chrono::system_clock::time_point deadline() const { return deadline_; }
  void OnDone() override {
    std::shared_ptr<UnaryCall> keep = std::move(self_);
    s_->in_flight.fetch_sub(1);
  }

 private:
  UnaryCall(Shared* s, Resp* response, std::string method, std::string rid)
      : s_(s),
        response_(response),
        method_(std::move(method)),
        rid_(std::move(rid)),
        started_(Clock::now()) {}

  Shared* s_;
  Resp* response_;
  const std::string method_, rid_;
  const Clock::time_point started_;
  const std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
  std::chrono::system_clock::time_point deadline_ = std::chrono::system_clock::time_point::max();
  std::mutex mu_;
  bool finished_ = false;
  std::shared_ptr<UnaryCall> self_;
};

// UploadVideo: reads chunks on gRPC threads (memory copies only) and keeps the bytes in the cache.
class UploadCall : public grpc::ServerReadReactor<v1::UploadChunk> {
 public:
  UploadCall(Shared* s, grpc::CallbackServerContext* ctx, v1::VideoRef* response)
      : s_(s),
        response_(response),
        rid_(request_id(s, ctx)),
        started_(Clock::now()),
        data_(std::make_shared<std::vector<uint8_t>>()) {
    s_->in_flight.fetch_add(1);
    Status auth = check_auth(s, ctx);
    if (!auth.ok()) {
      done(to_grpc_status(auth));
      return;
    }
    // One upload may fill at most the whole cache.
    limit_ = s_->options.cache_mb << 20;
    StartRead(&chunk_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client closed its side (or the call died)
      if (data_->empty()) {
        done(grpc::Status(grpc::INVALID_ARGUMENT, "the upload had no data"));
        return;
      }
      const size_t bytes = data_->size();
      CachedVideo video;
      video.bytes = bytes;
      video.raw = std::move(data_);
      auto id = s_->cache->put(std::move(video));
      if (!id.ok()) {
        done(to_grpc_status(id.status()));
        return;
      }
      response_->set_video_id(*id);
      response_->set_kind("raw");
      response_->set_bytes(static_cast<int64_t>(bytes));
      if (!name_.empty()) spdlog::info("[{}] upload '{}' -> {}", rid_, name_, *id);
      done(grpc::Status::OK);
      return;
    }
    if (name_.empty() && !chunk_.filename().empty()) name_ = chunk_.filename().substr(0, 256);
    if (data_->size() + chunk_.data().size() > limit_) {
      done(grpc::Status(grpc::RESOURCE_EXHAUSTED,
                        "the upload is larger than the server's video cache (" +
                            std::to_string(s_->options.cache_mb) + " MiB, --cache-mb)"));
      return;
    }
    data_->insert(data_->end(), chunk_.data().begin(), chunk_.data().end());
    StartRead(&chunk_);
  }

  void OnDone() override {
    s_->in_flight.fetch_sub(1);
    delete this;
  }

 private:
  void done(const grpc::Status& status) {
    record(s_, "UploadVideo", rid_, status, started_);
    Finish(status);
  }

  Shared* s_;
  v1::VideoRef* response_;
  const std::string rid_;
  const Clock::time_point started_;
  std::shared_ptr<std::vector<uint8_t>> data_;
  size_t limit_ = 0;
  std::string name_;
  v1::UploadChunk chunk_;
};

// Where a gRPC Ask's answer goes (service/ask_flow.h): deltas and the summary as AskResponse
// messages on the call's stream.
class GrpcAnswerSink : public AnswerSink {
 public:
  explicit GrpcAnswerSink(std::shared_ptr<StreamCall<v1::AskResponse>> call)
      : call_(std::move(call)) {}
  const std::shared_ptr<std::atomic<bool>>& cancel_flag() const override {
    return call_->cancel_flag();
  }
  bool delta(const std::string& text) override {
    v1::AskResponse r;
    r.set_delta(text);
    call_->write(std::move(r));
    return !call_->cancelled();
  }
  void finish(StatusOr<v1::AskSummary> result) override {
    if (!result.ok()) {
      call_->finish(result.status().code() == StatusCode::kCancelled
                        ? cancel_status(call_->deadline())
                        : to_grpc_status(result.status()));
      return;
    }
    v1::AskResponse r;
    *r.mutable_done() = std::move(*result);
    call_->write(std::move(r));
    call_->finish(grpc::Status::OK);
  }

 private:
  std::shared_ptr<StreamCall<v1::AskResponse>> call_;
};

struct CaptionJob {
  ResolvedVideo video;
  pipelines::VideoEncodeOptions encode;
  pipelines::AskOptions ask;
  std::string prompt;
  SegmentationOptions segmentation;
  Clock::time_point submitted;
};

void run_caption(Shared* s, const std::shared_ptr<StreamCall<v1::CaptionSegment>>& call,
                 CaptionJob& job) {
  if (call->cancelled()) {
    call->finish(grpc::Status(grpc::CANCELLED, "cancelled while queued"));
    return;
  }
  const double queue_s = seconds_since(job.submitted);
  auto plan = plan_caption(job.video.input, job.encode.sampling.start, job.encode.sampling.end,
                           job.segmentation, call->cancel_flag());
  if (!plan.ok()) {
    if (call->cancelled()) return call->finish(cancel_status(call->deadline()));
    call->finish(to_grpc_status(plan.status().with_context("video " + job.video.describe)));
    return;
  }
  s->metrics.add_frames_decoded(plan->frames_decoded);
  job.ask.cancel = call->cancel_flag().get();
  for (size_t index = 0; index < plan->segments.size(); ++index) {
    if (call->cancelled()) break;
    const vision::SceneSegment& segment = plan->segments[index];
    const double t0 = segment.start, t1 = segment.end;
    pipelines::VideoEncodeOptions encode = job.encode;
    encode.sampling.start = t0;
    encode.sampling.end = t1;
    auto encoded = ensure_encoded(s, job.video, encode, call->cancel_flag());
    if (!encoded.ok()) {
      call->finish(to_grpc_status(encoded.status().with_context(
          "segment " + std::to_string(index) + " of video " + job.video.describe)));
      return;
    }
    auto answer = s->qa->ask(**encoded, job.prompt, job.ask);
    if (!answer.ok()) {
      call->finish(to_grpc_status(answer.status()));
      return;
    }
    if (answer->finish_reason == "cancelled") break;
    s->metrics.add_tokens_generated(static_cast<int64_t>(answer->tokens.size()));
    v1::CaptionSegment seg;
    seg.set_index(static_cast<int64_t>(index));
    seg.set_start_s(t0);
    seg.set_end_s(t1);
    seg.set_scene_score(segment.score);
    seg.set_text(answer->text);
    seg.set_finish_reason(answer->finish_reason);
    seg.set_frames_used((*encoded)->frames_used);
    v1::Timings* t = seg.mutable_timings();
    fill_encode_timings((*encoded)->timings, t);
    if (index == 0) t->set_queue_s(queue_s);
    t->set_time_to_first_token_s(answer->time_to_first_token_s);
    t->set_generate_s(answer->decode_s);
    t->set_tokens_per_s(answer->tokens_per_s());
    call->write(std::move(seg));
  }
  if (call->cancelled()) {
    call->finish(cancel_status(call->deadline()));
  } else {
    call->finish(grpc::Status::OK);
  }
}

class VideoQaService final : public v1::VideoQa::CallbackService {
 public:
  explicit VideoQaService(Shared* s) : s_(s) {}

  grpc::ServerWriteReactor<v1::AskResponse>* Ask(grpc::CallbackServerContext* ctx,
                                                 const v1::AskRequest* request) override {
    auto call = StreamCall<v1::AskResponse>::create(s_, "Ask", request_id(s_, ctx));
    call->set_deadline(ctx->deadline());
    Status st = admit_ask(ctx, *request, call);
    if (!st.ok()) call->finish(to_grpc_status(st));
    return call.get();
  }

  grpc::ServerReadReactor<v1::UploadChunk>* UploadVideo(grpc::CallbackServerContext* ctx,
                                                        v1::VideoRef* response) override {
    return new UploadCall(s_, ctx, response);
  }

  grpc::ServerUnaryReactor* EncodeVideo(grpc::CallbackServerContext* ctx,
                                        const v1::EncodeRequest* request,
                                        v1::VideoRef* response) override {
    auto call = UnaryCall<v1::VideoRef>::create(s_, response, "EncodeVideo", request_id(s_, ctx));
    call->set_deadline(ctx->deadline());
    Status st = admit_encode(ctx, *request, call);
    if (!st.ok()) call->finish(to_grpc_status(st));
    return call.get();
  }

  grpc::ServerUnaryReactor* DeleteVideo(grpc::CallbackServerContext* ctx,
                                        const v1::DeleteVideoRequest* request,
                                        v1::DeleteVideoResponse* response) override {
    auto call = UnaryCall<v1::DeleteVideoResponse>::create(s_, response, "DeleteVideo",
                                                           request_id(s_, ctx));
    Status st = check_auth(s_, ctx);
    if (st.ok()) {
      st = request->video_id().empty() ? invalid_argument("video_id is empty")
                                       : s_->cache->erase(request->video_id());
    }
    call->finish(to_grpc_status(st));
    return call.get();
  }

  grpc::ServerWriteReactor<v1::CaptionSegment>* Caption(
      grpc::CallbackServerContext* ctx, const v1::CaptionRequest* request) override {
    auto call = StreamCall<v1::CaptionSegment>::create(s_, "Caption", request_id(s_, ctx));
    call->set_deadline(ctx->deadline());
    Status st = admit_caption(ctx, *request, call);
    if (!st.ok()) call->finish(to_grpc_status(st));
    return call.get();
  }

  // Live video pushed as bytes, ingested incrementally (service/stream_video.h).
  grpc::ServerBidiReactor<v1::StreamChunk, v1::StreamEvent>* StreamVideo(
      grpc::CallbackServerContext* ctx) override {
    return start_stream_video(s_, ctx, request_id(s_, ctx), check_auth(s_, ctx));
  }

 private:
  Status admit_ask(grpc::CallbackServerContext* ctx, const v1::AskRequest& request,
                   const std::shared_ptr<StreamCall<v1::AskResponse>>& call) {
    VAMBA_RETURN_IF_ERROR(check_auth(s_, ctx));
    VAMBA_ASSIGN_OR_RETURN(std::shared_ptr<AskJob> job, make_ask_job(s_, request));
    return submit_ask(s_, std::make_shared<GrpcAnswerSink>(call), std::move(job));
  }

  Status admit_encode(grpc::CallbackServerContext* ctx, const v1::EncodeRequest& request,
                      const std::shared_ptr<UnaryCall<v1::VideoRef>>& call) {
    VAMBA_RETURN_IF_ERROR(check_auth(s_, ctx));
    VAMBA_ASSIGN_OR_RETURN(pipelines::VideoEncodeOptions encode,
                           to_encode_options(request.sampling(), s_->options.limits));
    VAMBA_ASSIGN_OR_RETURN(ResolvedVideo video, resolve_video(s_, request.video(), false));
    const auto submitted = Clock::now();
    Shared* s = s_;
    auto job = [s, call, video, encode, submitted] {
      if (call->cancelled()) return call->finish(grpc::Status(grpc::CANCELLED, "cancelled"));
      const double queue_s = seconds_since(submitted);
      auto encoded = ensure_encoded(s, video, encode, call->cancel_flag());
      if (!encoded.ok()) {
        return call->finish(
            to_grpc_status(encoded.status().with_context("video " + video.describe)));
      }
      CachedVideo cached;
      cached.encoded = *encoded;
      cached.bytes = pipelines::encoded_video_bytes(**encoded);
      auto id = s->cache->put(cached);
      if (!id.ok()) return call->finish(to_grpc_status(id.status()));
      v1::VideoRef ref;
      ref.set_video_id(*id);
      ref.set_kind("encoded");
      ref.set_bytes(static_cast<int64_t>(cached.bytes));
      ref.set_frames_used((*encoded)->frames_used);
      ref.set_video_tokens((*encoded)->video_tokens);
      ref.set_duration_s((*encoded)->info.duration);
      fill_encode_timings((*encoded)->timings, ref.mutable_timings());
      ref.mutable_timings()->set_queue_s(queue_s);
      call->finish(grpc::Status::OK, &ref);
    };
    return s_->worker->submit(std::move(job), 0);
  }

  Status admit_caption(grpc::CallbackServerContext* ctx, const v1::CaptionRequest& request,
                       const std::shared_ptr<StreamCall<v1::CaptionSegment>>& call) {
    VAMBA_RETURN_IF_ERROR(check_auth(s_, ctx));
    auto job = std::make_shared<CaptionJob>();
    VAMBA_ASSIGN_OR_RETURN(job->segmentation, to_segmentation_options(request));
    job->prompt = request.prompt().empty() ? kDefaultCaptionPrompt : request.prompt();
    VAMBA_RETURN_IF_ERROR(check_question(job->prompt, s_->options.limits));
    VAMBA_ASSIGN_OR_RETURN(job->encode, to_encode_options(request.sampling(), s_->options.limits));
    VAMBA_ASSIGN_OR_RETURN(job->ask, to_ask_options(request.generation(), s_->options.limits));
    VAMBA_ASSIGN_OR_RETURN(job->video, resolve_video(s_, request.video(), false));
    job->submitted = Clock::now();
    const int64_t cost = ask_cost(job->ask, job->prompt);
    Shared* s = s_;
    return s_->worker->submit([s, call, job] { run_caption(s, call, *job); }, cost);
  }

  Shared* s_;
};

// Memory of the model's device as its allocator counts it (GPU memory on CUDA; on the CPU backend,
// the CPU allocator's tensors). Labelled with the device, so dashboards tell the two apart.
void add_device_memory_gauges(Device device, Metrics* metrics) {
  auto allocator = allocator_for(device);
  if (!allocator.ok()) {
    spdlog::warn("no memory metrics for {}: {}", device.to_string(),
                 allocator.status().to_string());
    return;
  }
  const Allocator* a = *allocator;
  const std::string labels = "device=\"" + device.to_string() + "\"";
  metrics->add_gauge(
      "vamba_device_memory_in_use_bytes", "Device memory held by tensors (allocator in use).",
      [a] { return static_cast<double>(a->stats().in_use_bytes); }, labels);
  metrics->add_gauge(
      "vamba_device_memory_reserved_bytes",
      "Device memory obtained from the driver (in use + cached by the allocator).",
      [a] { return static_cast<double>(a->stats().reserved_bytes); }, labels);
  metrics->add_gauge(
      "vamba_device_memory_peak_bytes", "Highest device memory in use since the start.",
      [a] { return static_cast<double>(a->stats().peak_in_use_bytes); }, labels);
}

StatusOr<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

struct Server::Impl {
  Shared shared;
  std::unique_ptr<VideoQaService> service;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<MetricsHttpServer> metrics_http;
  std::unique_ptr<OpenAiHttpServer> http;  // the OpenAI-compatible API (--http-port)
  int port = 0;
  std::mutex shutdown_mu;
  bool shut_down = false;
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { shutdown(); }

int Server::port() const { return impl_->port; }
int Server::metrics_port() const { return impl_->metrics_http ? impl_->metrics_http->port() : -1; }
int Server::http_port() const { return impl_->http ? impl_->http->port() : -1; }

StatusOr<std::unique_ptr<Server>> Server::start(std::unique_ptr<pipelines::VideoQa> qa,
                                                const ServerOptions& options) {
  if (options.max_message_mb <= 0 || options.max_message_mb > 2047) {
    return invalid_argument("--max-message-mb must be in [1, 2047]");
  }
  VAMBA_ASSIGN_OR_RETURN(SourcePolicy sources,
                         SourcePolicy::create(options.allowed_roots, options.allow_remote_urls));
  auto impl = std::make_unique<Impl>();
  Shared& s = impl->shared;
  s.options = options;
  s.sources = std::move(sources);
  s.qa = std::move(qa);
  s.cache = std::make_unique<pipelines::VideoCache>(options.cache_mb << 20);
  Shared* shared = &s;
  s.worker = std::make_unique<pipelines::Worker>(
      s.qa->device().to_string(), options.worker,
      [shared](const std::vector<pipelines::Continuation*>& live) {
        advance_answers(shared, live);
      });

  pipelines::Worker* worker = s.worker.get();
  pipelines::VideoCache* cache = s.cache.get();
  s.metrics.add_gauge("vamba_queue_depth", "Requests waiting for the worker.",
                      [worker] { return static_cast<double>(worker->queue_depth()); });
  s.metrics.add_gauge("vamba_decode_batch", "Answers being decoded together (one step for all).",
                      [worker] { return static_cast<double>(worker->live_continuations()); });
  s.metrics.add_gauge("vamba_reserved_tokens", "Tokens reserved by queued and running requests.",
                      [worker] { return static_cast<double>(worker->reserved_tokens()); });
  s.metrics.add_gauge("vamba_cached_videos", "Videos kept (uploaded or encoded).",
                      [cache] { return static_cast<double>(cache->stats().entries); });
  s.metrics.add_gauge("vamba_cache_bytes", "Memory held by kept videos.",
                      [cache] { return static_cast<double>(cache->stats().bytes); });
  s.metrics.add_gauge("vamba_cache_evictions", "Videos evicted from the cache so far.",
                      [cache] { return static_cast<double>(cache->stats().evictions); });
  s.metrics.add_gauge("vamba_cache_budget_bytes", "Memory budget of the video cache.",
                      [cache] { return static_cast<double>(cache->stats().budget); });
  add_device_memory_gauges(s.qa->device(), &s.metrics);
  std::atomic<int64_t>* in_flight = &s.in_flight;
  s.metrics.add_gauge("vamba_in_flight_requests", "Calls in progress.",
                      [in_flight] { return static_cast<double>(in_flight->load()); });

  std::shared_ptr<grpc::ServerCredentials> creds;
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
      return invalid_argument("TLS needs both --tls-cert and --tls-key");
    }
    grpc::SslServerCredentialsOptions ssl;
    VAMBA_ASSIGN_OR_RETURN(std::string cert, read_file(options.tls_cert_file));
    VAMBA_ASSIGN_OR_RETURN(std::string key, read_file(options.tls_key_file));
    ssl.pem_key_cert_pairs.push_back({key, cert});
    creds = grpc::SslServerCredentials(ssl);
  } else {
    creds = grpc::InsecureServerCredentials();
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  impl->service = std::make_unique<VideoQaService>(&s);
  grpc::ServerBuilder builder;
  const std::string address = options.host.find(':') != std::string::npos
                                  ? "[" + options.host + "]:" + std::to_string(options.port)
                                  : options.host + ":" + std::to_string(options.port);
  builder.AddListeningPort(address, creds, &impl->port);
  builder.SetMaxReceiveMessageSize(options.max_message_mb << 20);
  builder.SetMaxSendMessageSize(options.max_message_mb << 20);
  builder.RegisterService(impl->service.get());
  impl->server = builder.BuildAndStart();
  if (!impl->server || impl->port == 0) {
    return unavailable("cannot listen on " + address);
  }
  impl->server->GetHealthCheckService()->SetServingStatus(kServiceName, true);
  impl->server->GetHealthCheckService()->SetServingStatus(true);

  if (options.metrics_port >= 0) {
    VAMBA_ASSIGN_OR_RETURN(impl->metrics_http, MetricsHttpServer::start(&s.metrics, options.host,
                                                                        options.metrics_port));
  }
  if (options.http_port >= 0) {
    VAMBA_ASSIGN_OR_RETURN(impl->http,
                           OpenAiHttpServer::start(&s, options.host, options.http_port));
  }
  spdlog::info("vamba.v1.VideoQa listening on {} (port {}), device {}, cache {} MiB{}", address,
               impl->port, s.qa->device().to_string(), options.cache_mb,
               options.auth_token.empty() ? "" : ", bearer auth");
  if (s.sources.roots().empty()) {
    spdlog::info("local video paths: none allowed (--allow-path DIR to allow a folder)");
  }
  for (const auto& root : s.sources.roots())
    spdlog::info("local video paths allowed under {}", root);
  spdlog::info("remote video URLs: {}", s.sources.allow_remote_urls() ? "allowed" : "refused");
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

void Server::shutdown() {
  std::lock_guard<std::mutex> lock(impl_->shutdown_mu);
  if (impl_->shut_down) return;
  impl_->shut_down = true;
  spdlog::info("shutting down: draining {} in-flight calls", impl_->shared.in_flight.load());
  impl_->server->GetHealthCheckService()->Shutdown();  // NOT_SERVING for every service
  if (impl_->http) impl_->http->begin_drain();         // /health 503, new requests 503
  const auto grace_ms = std::chrono::milliseconds(
      static_cast<int64_t>(impl_->shared.options.shutdown_grace_s * 1000));
  const auto grace = std::chrono::system_clock::now() + grace_ms;
  const auto http_grace = std::chrono::steady_clock::now() + grace_ms;
  impl_->server->Shutdown(grace);  // waits for in-flight calls; cancels the rest at the deadline
  impl_->server->Wait();
  if (impl_->http) impl_->http->drain(http_grace);  // the same for HTTP requests
  impl_->shared.worker->stop();
  impl_->http.reset();
  impl_->metrics_http.reset();
  spdlog::info("shut down");
}

}  // namespace vamba::service
