// Downloads an http(s) video URL for the HTTP API before it is queued, bounded in size and time, so
// a client cannot make the server hold an unbounded file or wait on a stalled host. (The gRPC API
// hands URLs to FFmpeg, which streams them with its own timeouts; OpenAI-style clients send video
// files by URL, which are fetched whole here and then decoded from memory like a data: URI.)
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include "engine/core/status.h"

namespace vamba::service {

struct FetchLimits {
  size_t max_bytes = size_t{64} << 20;
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds read_timeout{10};  // each read must make progress within this
  std::chrono::seconds total_timeout{120};
};

// The body of `url` (http or https; redirects are followed, certificates verified).
// INVALID_ARGUMENT when it cannot be fetched (unreachable, timed out, not HTTP 200), with a message
// that says why; RESOURCE_EXHAUSTED when it is larger than max_bytes; CANCELLED when `stop`
// (polled as data arrives) returns true.
StatusOr<std::string> fetch_url(const std::string& url, const FetchLimits& limits,
                                const std::function<bool()>& stop = {});

}  // namespace vamba::service
