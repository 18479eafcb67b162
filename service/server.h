// `vamba serve`: the vamba.v1.VideoQa gRPC service on the callback API.
//
// Threads: gRPC's own threads run the reactors (parse, validate, admit, stream out); all model
// work runs on the device's one worker thread (pipelines/worker.h), fed by a bounded queue.
// Clients that cancel or pass their deadline set the request's cancel flag, which stops decoding
// and generation at the next frame or token. Besides vamba.v1.VideoQa the server answers the
// standard grpc.health.v1.Health service and server reflection (both without auth, so load
// balancers and grpcurl work). With ServerOptions::http_port set, the OpenAI-compatible HTTP API
// (service/openai_http.h) answers beside it from the same worker, queue and video cache.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "pipelines/video_qa.h"
#include "pipelines/worker.h"
#include "service/convert.h"

namespace vamba::service {

struct ServerOptions {
  std::string host = "0.0.0.0";
  int port = 50051;  // 0: any free port (see Server::port())
  int max_message_mb = 64;
  size_t cache_mb = 4096;  // encoded + uploaded videos kept between requests
  std::string auth_token;  // when set, every vamba.v1 call needs "authorization: Bearer <token>"
  std::string tls_cert_file, tls_key_file;  // both set: TLS; otherwise plaintext
  int metrics_port = -1;                    // < 0: no /metrics; 0: any free port
  // The OpenAI-compatible HTTP API (service/openai_http.h) on this port, beside gRPC: < 0 off,
  // 0 any free port. Its model id is served_model_name (empty: "vamba").
  int http_port = -1;
  std::string served_model_name;
  // Local paths clients may name as video.uri (see service/source_policy.h); empty: none.
  std::vector<std::string> allowed_roots;
  bool allow_remote_urls = true;  // http(s), rtsp(s), rtmp(s) URLs as video.uri
  pipelines::WorkerLimits worker;
  RequestLimits limits;
  double shutdown_grace_s = 30;  // in-flight calls get this long to finish, then are cancelled
};

class Server {
 public:
  // Starts serving `qa` (which the server owns from now on).
  static StatusOr<std::unique_ptr<Server>> start(std::unique_ptr<pipelines::VideoQa> qa,
                                                 const ServerOptions& options);
  ~Server();  // shutdown()

  int port() const;
  int metrics_port() const;  // -1 when off
  int http_port() const;     // -1 when off

  // Health goes NOT_SERVING, no new calls are accepted, in-flight calls finish (cancelled after the
  // grace period), then the worker stops. Idempotent.
  void shutdown();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vamba::service
