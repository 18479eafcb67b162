// Prometheus metrics of the service, rendered in the text exposition format and served at /metrics
// over plain HTTP (cpp-httplib) on their own port and thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/core/status.h"

namespace httplib {
class Server;
}

namespace vamba::service {

// A cumulative histogram with fixed upper bounds.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  // Appends `name_bucket`, `name_sum` and `name_count` lines.
  void render(const std::string& name, std::string* out) const;

 private:
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::vector<int64_t> counts_;  // per bound, plus +Inf
  double sum_ = 0;
  int64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();

  void count_request(const std::string& method, const std::string& code);
  void observe_ttft(double seconds) { ttft_.observe(seconds); }
  void observe_tokens_per_s(double value) { tokens_per_s_.observe(value); }
  void add_frames_decoded(int64_t n) { frames_decoded_ += n; }
  void add_tokens_generated(int64_t n) { tokens_generated_ += n; }

  // Gauges read at scrape time (queue depth, cached videos, ...). `labels` (e.g. device="cpu") go
  // between braces; series of one name must be added one after another.
  void add_gauge(std::string name, std::string help, std::function<double()> read,
                 std::string labels = "");

  std::string render() const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, int64_t> requests_;
  struct Gauge {
    std::string name, help, labels;
    std::function<double()> read;
  };
  std::vector<Gauge> gauges_;
  Histogram ttft_;
  Histogram tokens_per_s_;
  std::atomic<int64_t> frames_decoded_{0};
  std::atomic<int64_t> tokens_generated_{0};
};

// Serves GET /metrics from `metrics` on host:port (port 0: any free port) on its own thread.
class MetricsHttpServer {
 public:
  static StatusOr<std::unique_ptr<MetricsHttpServer>> start(const Metrics* metrics,
                                                            const std::string& host, int port);
  ~MetricsHttpServer();
  int port() const { return port_; }

 private:
  MetricsHttpServer() = default;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace vamba::service
