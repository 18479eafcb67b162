#include "service/metrics.h"

#include <httplib.h>

#include <cstdio>

namespace vamba::service {
namespace {

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::render(const std::string& name, std::string* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    *out +=
        name + "_bucket{le=\"" + number(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  cumulative += counts_.back();
  *out += name + "_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  *out += name + "_sum " + number(sum_) + "\n";
  *out += name + "_count " + std::to_string(count_) + "\n";
}

Metrics::Metrics()
    : ttft_({0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      tokens_per_s_({1, 5, 10, 20, 50, 100, 200, 500, 1000}) {}

void Metrics::count_request(const std::string& method, const std::string& code) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{method, code}];
}

void Metrics::add_gauge(std::string name, std::string help, std::function<double()> read,
                        std::string labels) {
  std::lock_guard<std::mutex> lock(mu_);
  gauges_.push_back({std::move(name), std::move(help), std::move(labels), std::move(read)});
}

std::string Metrics::render() const {
  std::string out;
  out += "# HELP vamba_requests_total Finished RPCs by method and gRPC status code.\n";
  out += "# TYPE vamba_requests_total counter\n";
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, n] : requests_) {
      out += "vamba_requests_total{method=\"" + key.first + "\",code=\"" + key.second + "\"} " +
             std::to_string(n) + "\n";
    }
    for (size_t i = 0; i < gauges_.size(); ++i) {
      const Gauge& g = gauges_[i];
      if (i == 0 || gauges_[i - 1].name != g.name) {
        out += "# HELP " + g.name + " " + g.help + "\n# TYPE " + g.name + " gauge\n";
      }
      out +=
          g.name + (g.labels.empty() ? "" : "{" + g.labels + "}") + " " + number(g.read()) + "\n";
    }
  }
  out += "# HELP vamba_time_to_first_token_seconds Prompt prefill + first answer token.\n";
  out += "# TYPE vamba_time_to_first_token_seconds histogram\n";
  ttft_.render("vamba_time_to_first_token_seconds", &out);
  out += "# HELP vamba_tokens_per_second Answer tokens per second after the first, per request.\n";
  out += "# TYPE vamba_tokens_per_second histogram\n";
  tokens_per_s_.render("vamba_tokens_per_second", &out);
  out += "# HELP vamba_frames_decoded_total Video frames decoded and encoded.\n";
  out += "# TYPE vamba_frames_decoded_total counter\n";
  out += "vamba_frames_decoded_total " + std::to_string(frames_decoded_.load()) + "\n";
  out += "# HELP vamba_tokens_generated_total Answer tokens generated.\n";
  out += "# TYPE vamba_tokens_generated_total counter\n";
  out += "vamba_tokens_generated_total " + std::to_string(tokens_generated_.load()) + "\n";
  return out;
}

StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::start(const Metrics* metrics,
                                                                      const std::string& host,
                                                                      int port) {
  std::unique_ptr<MetricsHttpServer> s(new MetricsHttpServer());
  s->http_ = std::make_unique<httplib::Server>();
  s->http_->Get("/metrics", [metrics](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics->render(), "text/plain; version=0.0.4");
  });
  if (port == 0) {
    s->port_ = s->http_->bind_to_any_port(host);
    if (s->port_ <= 0) return unavailable("metrics: cannot bind " + host);
  } else {
    if (!s->http_->bind_to_port(host, port)) {
      return unavailable("metrics: cannot bind " + host + ":" + std::to_string(port));
    }
    s->port_ = port;
  }
  httplib::Server* http = s->http_.get();
  s->thread_ = std::thread([http] { http->listen_after_bind(); });
  return s;
}

MetricsHttpServer::~MetricsHttpServer() {
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace vamba::service
