#include "tests/service/server_process.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

namespace vamba::testing {
namespace {

using Clock = std::chrono::steady_clock;

int port_after(const std::string& line, const std::string& prefix) {
  if (line.rfind(prefix, 0) != 0) return -1;
  const size_t colon = line.rfind(':');
  return colon == std::string::npos ? -1 : std::atoi(line.c_str() + colon + 1);
}

}  // namespace

bool ServerProcess::start(const std::string& binary, const std::vector<std::string>& args,
                          double timeout_s, bool wait_for_metrics) {
  int fds[2];
  if (pipe(fds) != 0) return false;
  pid_ = fork();
  if (pid_ < 0) return false;
  if (pid_ == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> argv;
    std::string serve = "serve";
    argv.push_back(const_cast<char*>(binary.c_str()));
    argv.push_back(serve.data());
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  close(fds[1]);
  stdout_fd_ = fds[0];
  // Read lines until the server says where it listens (and where /metrics is, when asked).
  const bool want_metrics = wait_for_metrics || [&] {
    for (const auto& a : args) {
      if (a == "--metrics-port") return true;
    }
    return false;
  }();
  const bool want_http = [&] {
    for (const auto& a : args) {
      if (a == "--http-port") return true;
    }
    return false;
  }();
  std::string line;
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  while (Clock::now() < deadline) {
    pollfd p{stdout_fd_, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;  // exited before listening
      }
      continue;
    }
    char c;
    const ssize_t n = read(stdout_fd_, &c, 1);
    if (n <= 0) return false;
    if (c != '\n') {
      line.push_back(c);
      continue;
    }
    std::fprintf(stderr, "[server stdout] %s\n", line.c_str());
    if (int p = port_after(line, "listening on "); p > 0) port_ = p;
    if (int p = port_after(line, "metrics on "); p > 0) metrics_port_ = p;
    if (int p = port_after(line, "http on "); p > 0) http_port_ = p;
    line.clear();
    if (port_ > 0 && (!want_metrics || metrics_port_ > 0) && (!want_http || http_port_ > 0)) {
      return true;
    }
  }
  return false;
}

int ServerProcess::stop(double timeout_s) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  int status = 0;
  while (Clock::now() < deadline) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      if (stdout_fd_ >= 0) close(stdout_fd_);
      stdout_fd_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) stop(30);
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

std::string run_command(const std::string& command, int* status) {
  std::string out;
  FILE* f = popen(command.c_str(), "r");
  if (!f) {
    *status = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  const int rc = pclose(f);
  *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

}  // namespace vamba::testing
