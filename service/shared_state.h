// What every API of `vamba serve` shares: the gRPC service (server.cc) and the OpenAI-compatible
// HTTP API (openai_http.h) answer from this one model, worker (queue, token budget, batched
// decoding), video cache, source policy and set of metrics — never from a second engine.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "pipelines/video_cache.h"
#include "pipelines/video_qa.h"
#include "pipelines/worker.h"
#include "service/metrics.h"
#include "service/server.h"
#include "service/source_policy.h"

namespace vamba::service {

// Owned by the Server; outlives every listener (declared before them in Server::Impl).
struct Shared {
  ServerOptions options;
  SourcePolicy sources;  // which video URIs may be opened
  std::unique_ptr<pipelines::VideoQa> qa;
  std::unique_ptr<pipelines::VideoCache> cache;
  std::unique_ptr<pipelines::Worker> worker;
  Metrics metrics;
  std::atomic<int64_t> next_request{1};
  std::atomic<int64_t> in_flight{0};
};

}  // namespace vamba::service
