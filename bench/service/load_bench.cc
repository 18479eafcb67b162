// load_bench: a loopback load generator for `vamba serve`. Starts a server in this process (or
// talks to --server), keeps one video encoded on it, then
//   * for each concurrency level (default 1, 8, 32) runs that many clients, each on its own
//     channel, each sending --requests Asks one after another (or asking until --duration runs
//     out), and reports requests/s, client-side time to first token (send -> first streamed
//     delta, queueing included) p50/p95, and answer tokens/s over the wall time;
//   * compares Ask on the raw video (decode + vision tower + video prefill every time) with Ask on
//     the encoded id (text only): mean time per request and their ratio.
// One machine-readable line per case:
//
//   bench=service case=load concurrency=8 requests=32 errors=0 wall_s=... rps=... ttft_p50_ms=...
//   bench=service case=reuse mode=raw requests=5 mean_ms=...
//
// usage: load_bench [--model DIR] [--video FILE] [--device cpu|cuda] [--server HOST:PORT]
//                   [--token T] [--concurrency 1 8 32] [--requests N] [--duration S]
//                   [--frames N] [--max-tokens N] [--shortest-edge N] [--longest-edge N]
//                   [--reuse-requests N]
// Defaults: the golden tiny checkpoint and its magic.mp4 ($VAMBA_GOLDEN_DIR or ../shared/golden).
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "service/server.h"
#include "vamba/v1/vamba.grpc.pb.h"

namespace {

namespace v1 = vamba::v1;
using Clock = std::chrono::steady_clock;

std::string golden_dir() {
  const char* env = std::getenv("VAMBA_GOLDEN_DIR");
  return env && *env ? env : VAMBA_DEFAULT_GOLDEN_DIR;
}

struct Args {
  std::string model = golden_dir() + "/vamba-tiny";
  std::string video = golden_dir() + "/vamba-tiny/magic.mp4";
  std::string device = "cpu";
  std::string server;  // empty: start one here
  std::string token;
  std::vector<int> concurrency = {1, 8, 32};
  int requests = 4;       // per client
  double duration_s = 0;  // > 0: ask until this runs out instead of --requests
  int64_t frames = 8;
  int max_tokens = 16;
  int shortest_edge = 112, longest_edge = 224;
  int reuse_requests = 5;
  std::string question = "What happens in the video?";
};

struct Outcome {
  bool ok = false;
  std::string error;
  double ttft_s = 0;  // send -> first delta (client side)
  double total_s = 0;
  int64_t tokens = 0;
};

class Client {
 public:
  Client(const std::string& address, const Args& args) : args_(args) {
    grpc::ChannelArguments ch;
    ch.SetMaxReceiveMessageSize(-1);
    // A channel per client: separate connections, as separate client processes would have.
    ch.SetInt("grpc.use_local_subchannel_pool", 1);
    stub_ = v1::VideoQa::NewStub(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), ch));
  }

  Outcome ask(const v1::VideoSource& source) {
    v1::AskRequest req;
    *req.mutable_video() = source;
    req.mutable_sampling()->set_frames(args_.frames);
    req.mutable_sampling()->set_shortest_edge(args_.shortest_edge);
    req.mutable_sampling()->set_longest_edge(args_.longest_edge);
    req.set_question(args_.question);
    req.mutable_generation()->set_max_tokens(args_.max_tokens);
    grpc::ClientContext ctx;
    prepare(&ctx);
    Outcome out;
    const auto t0 = Clock::now();
    auto reader = stub_->Ask(&ctx, req);
    v1::AskResponse msg;
    bool first = true;
    while (reader->Read(&msg)) {
      if (first) {
        out.ttft_s = std::chrono::duration<double>(Clock::now() - t0).count();
        first = false;
      }
      if (msg.has_done()) out.tokens = msg.done().completion_tokens();
    }
    grpc::Status s = reader->Finish();
    out.total_s = std::chrono::duration<double>(Clock::now() - t0).count();
    out.ok = s.ok();
    if (!s.ok()) out.error = s.error_message();
    return out;
  }

  grpc::Status encode(const std::string& uri, v1::VideoRef* ref) {
    v1::EncodeRequest req;
    req.mutable_video()->set_uri(uri);
    req.mutable_sampling()->set_frames(args_.frames);
    req.mutable_sampling()->set_shortest_edge(args_.shortest_edge);
    req.mutable_sampling()->set_longest_edge(args_.longest_edge);
    grpc::ClientContext ctx;
    prepare(&ctx);
    return stub_->EncodeVideo(&ctx, req, ref);
  }

 private:
  void prepare(grpc::ClientContext* ctx) const {
    if (!args_.token.empty()) ctx->AddMetadata("authorization", "Bearer " + args_.token);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(10));
  }
  const Args& args_;
  std::unique_ptr<v1::VideoQa::Stub> stub_;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  // Nearest rank.
  const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank > 0 ? rank - 1 : 0)];
}

void run_load(const std::string& address, const Args& args, const v1::VideoSource& source,
              int concurrency) {
  std::vector<std::vector<Outcome>> per_client(concurrency);
  const auto t0 = Clock::now();
  const auto stop_at = t0 + std::chrono::duration<double>(args.duration_s);
  std::vector<std::thread> threads;
  for (int c = 0; c < concurrency; ++c) {
    threads.emplace_back([&, c] {
      Client client(address, args);
      for (int i = 0;; ++i) {
        if (args.duration_s > 0 ? Clock::now() >= stop_at : i >= args.requests) break;
        per_client[c].push_back(client.ask(source));
      }
    });
  }
  for (auto& t : threads) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  std::vector<double> ttft;
  int64_t tokens = 0, ok = 0, errors = 0;
  std::string first_error;
  for (const auto& outcomes : per_client) {
    for (const Outcome& o : outcomes) {
      if (!o.ok) {
        if (first_error.empty()) first_error = o.error;
        ++errors;
        continue;
      }
      ++ok;
      ttft.push_back(o.ttft_s);
      tokens += o.tokens;
    }
  }
  std::printf(
      "bench=service case=load concurrency=%d requests=%lld errors=%lld wall_s=%.3f rps=%.3f "
      "ttft_p50_ms=%.1f ttft_p95_ms=%.1f tokens=%lld tokens_per_s=%.1f\n",
      concurrency, static_cast<long long>(ok), static_cast<long long>(errors), wall, ok / wall,
      percentile(ttft, 50) * 1e3, percentile(ttft, 95) * 1e3, static_cast<long long>(tokens),
      tokens / wall);
  if (!first_error.empty()) std::printf("# first error: %s\n", first_error.c_str());
  std::fflush(stdout);
}

double run_reuse(Client& client, const v1::VideoSource& source, const char* mode, int n) {
  double sum = 0;
  int ok = 0;
  for (int i = 0; i < n; ++i) {
    Outcome o = client.ask(source);
    if (!o.ok) {
      std::printf("# reuse %s: %s\n", mode, o.error.c_str());
      continue;
    }
    sum += o.total_s;
    ++ok;
  }
  const double mean = ok ? sum / ok : 0;
  std::printf("bench=service case=reuse mode=%s requests=%d mean_ms=%.1f\n", mode, ok, mean * 1e3);
  std::fflush(stdout);
  return mean;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  CLI::App app{"loopback load generator for vamba serve"};
  app.add_option("--model", args.model, "Checkpoint (in-process server)")->capture_default_str();
  app.add_option("--video", args.video, "Video path (as the server sees it)")
      ->capture_default_str();
  app.add_option("--device", args.device, "cpu or cuda (in-process server)")->capture_default_str();
  app.add_option("--server", args.server, "HOST:PORT of a running server (default: start one)");
  app.add_option("--token", args.token, "Bearer token of --server");
  app.add_option("--concurrency", args.concurrency, "Concurrent clients per level")
      ->capture_default_str();
  app.add_option("--requests", args.requests, "Asks per client per level")->capture_default_str();
  app.add_option("--duration", args.duration_s, "Seconds per level instead of --requests");
  app.add_option("--frames", args.frames, "Frames per video")->capture_default_str();
  app.add_option("--max-tokens", args.max_tokens, "Answer tokens per Ask")->capture_default_str();
  app.add_option("--shortest-edge", args.shortest_edge)->capture_default_str();
  app.add_option("--longest-edge", args.longest_edge)->capture_default_str();
  app.add_option("--reuse-requests", args.reuse_requests, "Asks per mode in the reuse case")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  // Only the result lines on stdout: the in-process server logs just warnings and errors.
  spdlog::set_level(spdlog::level::warn);

  std::unique_ptr<vamba::service::Server> server;
  std::string address = args.server;
  if (address.empty()) {
    auto device = vamba::parse_device(args.device);
    if (!device.ok()) return std::fprintf(stderr, "%s\n", device.status().to_string().c_str()), 2;
    auto qa = vamba::pipelines::VideoQa::load(args.model, *device);
    if (!qa.ok()) return std::fprintf(stderr, "%s\n", qa.status().to_string().c_str()), 1;
    vamba::service::ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.allowed_roots = {std::filesystem::absolute(args.video).parent_path().string()};
    const int most = *std::max_element(args.concurrency.begin(), args.concurrency.end());
    options.worker.max_queue = static_cast<size_t>(std::max(64, 2 * most));
    auto started = vamba::service::Server::start(std::move(*qa), options);
    if (!started.ok()) return std::fprintf(stderr, "%s\n", started.status().to_string().c_str()), 1;
    server = std::move(*started);
    address = "127.0.0.1:" + std::to_string(server->port());
  }
  const std::string video =
      args.server.empty() ? std::filesystem::absolute(args.video).string() : args.video;
  std::printf("# server %s%s, video %s, %lld frames %dx%d max, %d answer tokens\n", address.c_str(),
              args.server.empty() ? (" (in process, " + args.device + ")").c_str() : "",
              video.c_str(), static_cast<long long>(args.frames), args.shortest_edge,
              args.longest_edge, args.max_tokens);

  Client client(address, args);
  v1::VideoRef ref;
  grpc::Status s = client.encode(video, &ref);
  if (!s.ok()) return std::fprintf(stderr, "encode: %s\n", s.error_message().c_str()), 1;
  v1::VideoSource by_id, raw;
  by_id.set_video_id(ref.video_id());
  raw.set_uri(video);
  std::printf("# encoded %s: %lld frames, %lld video tokens, %lld bytes\n", ref.video_id().c_str(),
              static_cast<long long>(ref.frames_used()), static_cast<long long>(ref.video_tokens()),
              static_cast<long long>(ref.bytes()));
  client.ask(by_id);  // warm-up

  for (int c : args.concurrency) run_load(address, args, by_id, c);

  const double raw_s = run_reuse(client, raw, "raw", args.reuse_requests);
  const double id_s = run_reuse(client, by_id, "encoded", args.reuse_requests);
  if (raw_s > 0 && id_s > 0) {
    std::printf("bench=service case=reuse_ratio raw_over_encoded=%.2f\n", raw_s / id_s);
  }
  if (server) server->shutdown();
  return 0;
}
