// A `vamba serve` child process for tests: started with --port 0, it reports the port it bound on
// stdout; stop() sends SIGTERM and returns the exit status.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace vamba::testing {

class ServerProcess {
 public:
  // Starts `binary serve args...` and waits (up to timeout_s) for "listening on" (and for
  // "metrics on" when args has --metrics-port or wait_for_metrics is set, e.g. for a config file
  // with metrics_port; and for "http on" when args has --http-port); false on failure.
  bool start(const std::string& binary, const std::vector<std::string>& args,
             double timeout_s = 120, bool wait_for_metrics = false);
  ~ServerProcess();

  int port() const { return port_; }
  int metrics_port() const { return metrics_port_; }
  int http_port() const { return http_port_; }  // the OpenAI-compatible HTTP API; -1 when off
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return pid_; }

  // SIGTERM, then waits up to timeout_s; returns the exit code (-1 if it had to be killed).
  int stop(double timeout_s = 60);

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int port_ = 0;
  int metrics_port_ = -1;
  int http_port_ = -1;
};

// Runs a command, returns its stdout (stderr passes through); exit code in *status.
std::string run_command(const std::string& command, int* status);

}  // namespace vamba::testing
