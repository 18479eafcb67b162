#include "service/openai_http.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "service/ask_flow.h"
#include "service/bearer_auth.h"
#include "service/client_socket_watch.h"
#include "service/openai_json.h"
#include "service/video_fetch.h"

namespace vamba::service {
namespace {

using Clock = std::chrono::steady_clock;

// How often a waiting request looks whether its client is still there.
constexpr auto kPollInterval = std::chrono::milliseconds(100);
// The method label of /v1/chat/completions in vamba_requests_total and in the logs.
constexpr const char* kMethod = "ChatCompletions";

// The events of one answer, pushed by the worker thread (AnswerSink) and taken by the HTTP thread
// that writes the response.
class AnswerQueue : public AnswerSink {
 public:
  struct Event {
    enum Kind { kStarted, kDelta, kDone, kFailed } kind = kStarted;
    std::string text;        // kDelta
    v1::AskSummary summary;  // kDone
    Status error;            // kFailed
  };

  const std::shared_ptr<std::atomic<bool>>& cancel_flag() const override { return cancel_; }
  void started() override {
    Event e;
    e.kind = Event::kStarted;
    push(std::move(e));
  }
  bool delta(const std::string& text) override {
    Event e;
    e.kind = Event::kDelta;
    e.text = text;
    push(std::move(e));
    return !cancelled();
  }
  void finish(StatusOr<v1::AskSummary> result) override {
    Event e;
    if (result.ok()) {
      e.kind = Event::kDone;
      e.summary = std::move(*result);
    } else {
      e.kind = Event::kFailed;
      e.error = result.status();
    }
    push(std::move(e));
  }

  // The next event, or nothing after `timeout`.
  std::optional<Event> next(Clock::duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return !events_.empty(); })) return std::nullopt;
    Event e = std::move(events_.front());
    events_.pop_front();
    return e;
  }

 private:
  void push(Event e) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back(std::move(e));
    }
    cv_.notify_one();
  }

  const std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> events_;
};

void send_error(httplib::Response& res, const ApiError& error) {
  res.status = error.http_status;
  res.set_content(error_body(error), "application/json");
}

std::string request_id(const httplib::Request& req, Shared* s) {
  const std::string id = req.get_header_value("x-request-id");
  if (!id.empty() && id.size() <= 128) return id;
  return "h" + std::to_string(s->next_request.fetch_add(1));
}

}  // namespace

struct OpenAiHttpServer::Impl {
  Shared* s = nullptr;
  std::string model_id;
  int64_t created = 0;
  FetchLimits fetch;
  httplib::Server http;
  std::thread thread;
  int port = 0;
  std::atomic<bool> draining{false};

  // The chat requests in flight, and the cancel flags of those admitted (drain cancels them).
  std::mutex mu;
  std::condition_variable idle;
  int64_t in_flight = 0;
  std::set<std::shared_ptr<std::atomic<bool>>> live;
  bool cancel_all = false;

  void add_routes();
  Status authorize(const httplib::Request& req) const;
  ApiError model_not_found(const std::string& name) const;
  void chat(const httplib::Request& req, httplib::Response& res);
};

namespace {

// One POST /v1/chat/completions from its arrival to the last byte of its response (for a stream,
// written after the handler returned): counted in flight, recorded once at its end.
class ChatCall {
 public:
  using Event = AnswerQueue::Event;

  ChatCall(OpenAiHttpServer::Impl* server, const httplib::Request& req)
      : server_(server),
        rid_(request_id(req, server->s)),
        started_(Clock::now()),
        local_port_(req.local_port),
        remote_port_(req.remote_port),
        remote_addr_(req.remote_addr) {
    server_->s->in_flight.fetch_add(1);
    std::lock_guard<std::mutex> lock(server_->mu);
    ++server_->in_flight;
  }

  ~ChatCall() {
    Shared* s = server_->s;
    s->metrics.count_request(kMethod, status_code_name(outcome_));
    if (outcome_ == StatusCode::kOk) {
      spdlog::info("[{}] {} OK in {:.3f}s", rid_, kMethod, seconds());
    } else {
      spdlog::info("[{}] {} {}: {} ({:.3f}s)", rid_, kMethod, status_code_name(outcome_),
                   outcome_message_, seconds());
    }
    s->in_flight.fetch_sub(1);
    {
      std::lock_guard<std::mutex> lock(server_->mu);
      if (answer_) server_->live.erase(answer_->cancel_flag());
      --server_->in_flight;
    }
    server_->idle.notify_all();
  }

  const std::string& rid() const { return rid_; }

  // The request is admitted: from now on its answer can be cancelled (by the client leaving, or by
  // the end of a drain).
  std::shared_ptr<AnswerQueue> admit(const ChatRequest& request) {
    answer_ = std::make_shared<AnswerQueue>();
    meta_.id = "chatcmpl-" + rid_;
    meta_.created = static_cast<int64_t>(std::time(nullptr));
    meta_.model = server_->model_id;
    stream_ = request.stream;
    include_usage_ = request.include_usage;
    std::lock_guard<std::mutex> lock(server_->mu);
    server_->live.insert(answer_->cancel_flag());
    if (server_->cancel_all) answer_->cancel_flag()->store(true);
    return answer_;
  }

  bool client_gone() {
    if (!watch_) watch_.emplace(local_port_, remote_addr_, remote_port_);
    return watch_->client_gone();
  }

  void fail(httplib::Response& res, const ApiError& error) {
    finished(error.status_code, error.message);
    send_error(res, error);
  }

  // Waits for the answer: a JSON completion, or (stream) the start of the events.
  void respond(const std::shared_ptr<ChatCall>& self, httplib::Response& res) {
    for (;;) {
      std::optional<Event> e = next_event();
      if (!e) return gone(res);
      if (e->kind == Event::kFailed) return fail(res, failure(e->error));
      if (stream_) {
        // The answer has started: the status is 200 from here on, and errors become events.
        pending_ = std::move(e);
        return start_stream(self, res);
      }
      if (e->kind == Event::kDone) {
        res.status = 200;
        res.set_content(dump_json(completion_json(meta_, e->summary)), "application/json");
        finished(StatusCode::kOk, "");
        return;
      }
    }
  }

  void gone(httplib::Response& res) {
    cancel();
    send_error(res, api_error(cancelled("the client closed the connection")));
  }

 private:
  double seconds() const { return std::chrono::duration<double>(Clock::now() - started_).count(); }

  void finished(StatusCode code, const std::string& message) {
    if (done_) return;
    done_ = true;
    outcome_ = code;
    outcome_message_ = message;
  }

  void cancel() {
    if (answer_) answer_->cancel_flag()->store(true);
    finished(StatusCode::kCancelled, "the client closed the connection");
  }

  // An error the worker reported. A cancellation the client did not ask for is the drain's.
  ApiError failure(const Status& error) const {
    if (error.code() == StatusCode::kCancelled && server_->draining.load()) {
      return api_error(unavailable("the server shut down before the answer was finished"));
    }
    return api_error(error);
  }

  // The next event of the answer, or nothing once the client has gone (the answer is cancelled).
  std::optional<Event> next_event() {
    if (pending_) {
      std::optional<Event> e = std::move(pending_);
      pending_.reset();
      return e;
    }
    for (;;) {
      // Looked at on a clock, not only when no event came: an answer's deltas may arrive faster
      // than the interval all the way to its end.
      if (Clock::now() - last_look_ >= kPollInterval) {
        last_look_ = Clock::now();
        if (client_gone()) {
          cancel();
          return std::nullopt;
        }
      }
      if (std::optional<Event> e = answer_->next(kPollInterval)) return e;
    }
  }

  void start_stream(const std::shared_ptr<ChatCall>& self, httplib::Response& res) {
    res.status = 200;
    res.set_header("Cache-Control", "no-cache");
    // Exactly "text/event-stream": httplib never compresses that type (a gzip stream would hold
    // the deltas back).
    res.set_chunked_content_provider(
        "text/event-stream",
        [self](size_t /*offset*/, httplib::DataSink& sink) { return self->write_next(sink); },
        [self](bool success) {
          if (!success) self->cancel();
        });
  }

  // Writes the next event(s) of a stream; false aborts the response (the client is gone).
  bool write_next(httplib::DataSink& sink) {
    if (!role_sent_) {
      role_sent_ = true;
      return write(sink, role_chunk(meta_, include_usage_));
    }
    for (;;) {
      std::optional<Event> e = next_event();
      if (!e) return false;
      switch (e->kind) {
        case Event::kStarted:
          continue;
        case Event::kDelta:
          return write(sink, content_chunk(meta_, e->text, include_usage_));
        case Event::kDone: {
          std::string out = finish_chunk(meta_, e->summary, include_usage_);
          if (include_usage_) out += usage_chunk(meta_, e->summary);
          out += kSseDone;
          if (!write(sink, out)) return false;
          finished(StatusCode::kOk, "");
          sink.done();
          return true;
        }
        case Event::kFailed: {
          const ApiError error = failure(e->error);
          if (!write(sink, error_event(error) + kSseDone)) return false;
          finished(error.status_code, error.message);
          sink.done();
          return true;
        }
      }
    }
  }

  bool write(httplib::DataSink& sink, const std::string& data) {
    if (sink.write(data.data(), data.size())) return true;
    cancel();
    return false;
  }

  OpenAiHttpServer::Impl* server_;
  const std::string rid_;
  const Clock::time_point started_;
  const int local_port_, remote_port_;
  const std::string remote_addr_;
  std::optional<ClientSocketWatch> watch_;
  Clock::time_point last_look_{};  // when client_gone() was last asked
  std::shared_ptr<AnswerQueue> answer_;
  CompletionMeta meta_;
  bool stream_ = false, include_usage_ = false, role_sent_ = false;
  std::optional<Event> pending_;
  bool done_ = false;
  StatusCode outcome_ = StatusCode::kCancelled;
  std::string outcome_message_ = "the connection ended before the answer";
};

}  // namespace

Status OpenAiHttpServer::Impl::authorize(const httplib::Request& req) const {
  const bool has = req.has_header("Authorization");
  const std::string value = req.get_header_value("Authorization");
  return check_bearer(s->options.auth_token, has ? &value : nullptr,
                      "'Authorization: Bearer <token>' header");
}

ApiError OpenAiHttpServer::Impl::model_not_found(const std::string& name) const {
  ApiError e = api_error(
      not_found("the model '" + name + "' does not exist; this server serves '" + model_id + "'"),
      "model");
  e.code = "model_not_found";
  return e;
}

void OpenAiHttpServer::Impl::chat(const httplib::Request& req, httplib::Response& res) {
  auto call = std::make_shared<ChatCall>(this, req);
  res.set_header("x-request-id", call->rid());
  if (draining.load()) {
    return call->fail(res, api_error(unavailable("the server is shutting down")));
  }
  if (Status st = authorize(req); !st.ok()) return call->fail(res, api_error(st));
  std::string param;
  auto parsed = parse_chat_request(req.body, &param);
  if (!parsed.ok()) return call->fail(res, api_error(parsed.status(), param));
  ChatRequest& request = *parsed;
  if (!request.model.empty() && request.model != model_id) {
    return call->fail(res, model_not_found(request.model));
  }
  if (!request.remote_url.empty()) {
    // The policy first (scheme, remote URLs allowed), then the bounded download.
    auto allowed = s->sources.resolve(request.remote_url);
    if (!allowed.ok()) return call->fail(res, request_error(allowed.status()));
    auto bytes = fetch_url(request.remote_url, fetch, [&] { return call->client_gone(); });
    if (!bytes.ok()) {
      if (bytes.status().code() == StatusCode::kCancelled) return call->gone(res);
      if (bytes.status().code() == StatusCode::kResourceExhausted) {
        return call->fail(res, payload_too_large(bytes.status().message(), "video_url.url"));
      }
      return call->fail(res, api_error(bytes.status(), "video_url.url"));
    }
    request.ask.mutable_video()->set_data(std::move(*bytes));
  }
  auto job = make_ask_job(s, request.ask);
  if (!job.ok()) return call->fail(res, request_error(job.status()));
  std::shared_ptr<AnswerQueue> answer = call->admit(request);
  if (Status st = submit_ask(s, answer, std::move(*job)); !st.ok()) {
    return call->fail(res, api_error(st));
  }
  // Wait for the answer to start (or fail) before the status is chosen, so a video that cannot
  // be decoded is a 400 in a stream too.
  call->respond(call, res);
}

void OpenAiHttpServer::Impl::add_routes() {
  http.Post("/v1/chat/completions",
            [this](const httplib::Request& req, httplib::Response& res) { chat(req, res); });
  http.Get("/v1/models", [this](const httplib::Request& req, httplib::Response& res) {
    if (Status st = authorize(req); !st.ok()) return send_error(res, api_error(st));
    res.set_content(dump_json(models_json(model_id, created)), "application/json");
  });
  http.Get(R"(/v1/models/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
    if (Status st = authorize(req); !st.ok()) return send_error(res, api_error(st));
    const std::string id = req.matches[1];
    if (id != model_id) return send_error(res, model_not_found(id));
    res.set_content(dump_json(model_json(model_id, created)), "application/json");
  });
  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    const bool serving = !draining.load();
    res.status = serving ? 200 : 503;
    res.set_content(serving ? R"({"status":"serving"})" : R"({"status":"draining"})",
                    "application/json");
  });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(s->metrics.render(), "text/plain; version=0.0.4");
  });
  // Whatever httplib answers by itself (unknown path, body too large, ...) gets the error shape
  // too; responses that already have a body are the handlers' own.
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty())
      res.set_content(error_body(http_status_error(res.status)), "application/json");
  });
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        send_error(res, api_error(internal_error("internal error: " + what)));
      });
}

OpenAiHttpServer::OpenAiHttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

StatusOr<std::unique_ptr<OpenAiHttpServer>> OpenAiHttpServer::start(Shared* shared,
                                                                    const std::string& host,
                                                                    int port) {
  auto impl = std::make_unique<Impl>();
  impl->s = shared;
  impl->model_id =
      shared->options.served_model_name.empty() ? "vamba" : shared->options.served_model_name;
  impl->created = static_cast<int64_t>(std::time(nullptr));
  const size_t max_bytes = static_cast<size_t>(shared->options.max_message_mb) << 20;
  impl->fetch.max_bytes = max_bytes;
  // Each request waiting for its answer holds a pool thread: enough for every request the worker
  // can hold (queued + decoding), plus some for /health, /metrics and refusals.
  const pipelines::WorkerLimits& w = shared->options.worker;
  const size_t threads = std::clamp<size_t>(w.max_queue + w.max_batch + 8, 16, 512);
  impl->http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  impl->http.set_payload_max_length(max_bytes);
  impl->add_routes();
  if (port == 0) {
    impl->port = impl->http.bind_to_any_port(host);
    if (impl->port <= 0) return unavailable("http: cannot bind " + host);
  } else {
    if (!impl->http.bind_to_port(host, port)) {
      return unavailable("http: cannot bind " + host + ":" + std::to_string(port));
    }
    impl->port = port;
  }
  httplib::Server* http = &impl->http;
  impl->thread = std::thread([http] { http->listen_after_bind(); });
  spdlog::info("OpenAI-compatible HTTP API on {}:{} (model '{}')", host, impl->port,
               impl->model_id);
  return std::unique_ptr<OpenAiHttpServer>(new OpenAiHttpServer(std::move(impl)));
}

OpenAiHttpServer::~OpenAiHttpServer() {
  impl_->http.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int OpenAiHttpServer::port() const { return impl_->port; }

void OpenAiHttpServer::begin_drain() { impl_->draining.store(true); }

void OpenAiHttpServer::drain(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(impl_->mu);
  if (impl_->idle.wait_until(lock, deadline, [&] { return impl_->in_flight == 0; })) return;
  spdlog::info("cancelling {} HTTP requests still in flight after the grace period",
               impl_->in_flight);
  impl_->cancel_all = true;
  for (const auto& flag : impl_->live) flag->store(true);
  // Cancelled answers stop at their next frame or token; a request still fetching its video stops
  // at its download's time limit.
  impl_->idle.wait_for(lock, std::chrono::seconds(150), [&] { return impl_->in_flight == 0; });
}

}  // namespace vamba::service
