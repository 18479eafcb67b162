// vamba serve: the gRPC service (vamba.v1.VideoQa, health, reflection) over one model on one
// device. Prints "listening on HOST:PORT" on stdout once ready (with --port 0 the port is chosen by
// the system), and on SIGINT/SIGTERM drains in-flight calls before exiting.
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/command.h"
#include "service/server.h"

namespace {

struct ServeArgs {
  std::string model;
  std::string device;
  vamba::service::ServerOptions server;
  std::string log_level = "info";
};

int run_serve(ServeArgs a) {
  // Block the stop signals in every thread (gRPC's and ours inherit this mask) so that only the
  // sigwait below sees them: shutdown then runs on this thread, not in a signal handler.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // Logs go to stderr: stdout carries only the "listening on" lines scripts wait for.
  spdlog::set_default_logger(spdlog::stderr_color_mt("vamba-serve"));
  spdlog::set_level(spdlog::level::from_str(a.log_level));

  std::string device_name = a.device;
  if (device_name.empty()) device_name = vamba::cuda::available() ? "cuda" : "cpu";
  auto device = vamba::parse_device(device_name);
  if (!device.ok()) return vamba::cli::fail("serve", device.status().message(), 2);

  spdlog::info("loading {} on {}", a.model, device_name);
  auto qa = vamba::pipelines::VideoQa::load(a.model, *device);
  if (!qa.ok()) return vamba::cli::fail("serve", qa.status().to_string());

  auto server = vamba::service::Server::start(std::move(*qa), a.server);
  if (!server.ok()) return vamba::cli::fail("serve", server.status().to_string());
  std::cout << "listening on " << a.server.host << ":" << (*server)->port() << std::endl;
  if ((*server)->metrics_port() >= 0) {
    std::cout << "metrics on " << a.server.host << ":" << (*server)->metrics_port() << std::endl;
  }

  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("received {}", sig == SIGINT ? "SIGINT" : "SIGTERM");
  (*server)->shutdown();
  return 0;
}

vamba::cli::RunFn setup_serve(CLI::App& sub) {
  auto a = std::make_shared<ServeArgs>();
  auto& o = a->server;
  sub.add_option("--model", a->model, "Checkpoint folder")->required();
  sub.add_option("--device", a->device, "cpu, cuda or cuda:N (default: cuda when available)");
  sub.add_option("--host", o.host, "Address to listen on")->capture_default_str();
  sub.add_option("--port", o.port, "Port (0: any free port, printed on stdout)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  sub.add_option("--max-message-mb", o.max_message_mb, "Largest gRPC message (inline videos)")
      ->check(CLI::Range(1, 2047))
      ->capture_default_str();
  sub.add_option("--cache-mb", o.cache_mb, "Memory for kept videos (uploaded and encoded)")
      ->check(CLI::Range(size_t{1}, size_t{1} << 30))
      ->capture_default_str();
  sub.add_option("--auth-token", o.auth_token,
                 "Require 'authorization: Bearer <token>' on every vamba.v1 call");
  sub.add_option("--tls-cert", o.tls_cert_file, "PEM certificate chain (with --tls-key: TLS)");
  sub.add_option("--tls-key", o.tls_key_file, "PEM private key");
  sub.add_option("--metrics-port", o.metrics_port,
                 "Serve Prometheus /metrics over HTTP on this port (0: any free port)")
      ->check(CLI::Range(0, 65535));
  sub.add_option("--max-queue", o.worker.max_queue, "Requests waiting before RESOURCE_EXHAUSTED")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20))
      ->capture_default_str();
  sub.add_option("--token-budget", o.worker.max_reserved_tokens,
                 "Tokens (answer + question) reserved by queued and running requests")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40))
      ->capture_default_str();
  sub.add_option("--max-frames", o.limits.max_frames, "Most frames one request may sample")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  sub.add_option("--default-frames", o.limits.default_frames, "Frames when a request gives none")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  sub.add_option("--max-tokens", o.limits.max_tokens, "Longest answer a request may ask for")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24))
      ->capture_default_str();
  sub.add_option("--shutdown-grace", o.shutdown_grace_s,
                 "Seconds in-flight calls get to finish on SIGINT/SIGTERM")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub.add_option("--log-level", a->log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  return [a] { return run_serve(*a); };
}

const bool registered = vamba::cli::register_command(
    {"serve", "Serve video question answering over gRPC (vamba.v1)", &setup_serve});

}  // namespace
