// vamba serve: the gRPC service (vamba.v1.VideoQa, health, reflection) over one model on one
// device. Options come from flags and/or a JSON file (--config; see service/serve_options.h).
// Prints "listening on HOST:PORT" on stdout once ready (with --port 0 the port is chosen by the
// system), and on SIGINT/SIGTERM drains in-flight calls before exiting.
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/command.h"
#include "service/serve_options.h"
#include "service/server.h"

namespace {

// `a` is the object the options are bound to: the config file writes into it through them.
int run_serve(CLI::App& sub, vamba::service::ServeSettings& a) {
  // Block the stop signals in every thread (gRPC's and ours inherit this mask) so that only the
  // sigwait below sees them: shutdown then runs on this thread, not in a signal handler.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // The config file fills what the command line left unset.
  vamba::Status settings = vamba::service::finish_serve_settings(sub, &a);
  if (!settings.ok()) return vamba::cli::fail("serve", settings.message(), 2);

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
  if ((*server)->http_port() >= 0) {
    std::cout << "http on " << a.server.host << ":" << (*server)->http_port() << std::endl;
  }

  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("received {}", sig == SIGINT ? "SIGINT" : "SIGTERM");
  (*server)->shutdown();
  return 0;
}

vamba::cli::RunFn setup_serve(CLI::App& sub) {
  auto a = std::make_shared<vamba::service::ServeSettings>();
  vamba::service::add_serve_options(sub, a.get());
  CLI::App* app = &sub;
  return [a, app] { return run_serve(*app, *a); };
}

const bool registered = vamba::cli::register_command(
    {"serve", "Serve video question answering over gRPC (vamba.v1)", &setup_serve});

}  // namespace
