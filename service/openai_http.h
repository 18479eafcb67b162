// The OpenAI-compatible HTTP API of `vamba serve --http-port P`, beside gRPC and answering from the
// same worker, queue and video cache (service/shared_state.h), with cpp-httplib:
//   POST /v1/chat/completions  a question about a video (service/openai_json.h): one JSON
//                              chat.completion, or with "stream": true Server-Sent Events
//   GET  /v1/models, /v1/models/{id}   the one model (--served-model-name, or the checkpoint
//                              folder's name)
//   GET  /health               200 while serving, 503 while draining (no auth)
//   GET  /metrics              the same Prometheus page as --metrics-port (no auth)
// /v1/* need "Authorization: Bearer <token>" when the server has a token (the gRPC API's token).
//
// Threads: httplib's pool threads parse, check and admit a request (and fetch an http(s) video),
// then wait; the model work runs on the worker (submit_ask, the gRPC Ask's path), which pushes
// the answer's events into a per-request queue that the waiting thread turns into the response. A
// client that goes away sets the request's cancel flag, which stops encoding and generation.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "engine/core/status.h"
#include "service/shared_state.h"

namespace vamba::service {

class OpenAiHttpServer {
 public:
  // Listens on host:port (0: any free port) on its own threads; `shared` must outlive the server.
  static StatusOr<std::unique_ptr<OpenAiHttpServer>> start(Shared* shared, const std::string& host,
                                                           int port);
  ~OpenAiHttpServer();  // stops listening (after drain(), so nothing is cut short)

  int port() const;
  // /health answers 503 and new requests 503 from now on; requests in flight go on.
  void begin_drain();
  // Waits for the requests in flight until `deadline`, then cancels those left and waits for them
  // to end (they stop at their next frame or token).
  void drain(std::chrono::steady_clock::time_point deadline);

  struct Impl;

 private:
  explicit OpenAiHttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vamba::service
