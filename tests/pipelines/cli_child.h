// Child processes for the CLI tests of tests/pipelines: run `vamba ...` to completion with its
// output captured, or start it in the background to kill it mid-way.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace vamba::testing {

struct ChildResult {
  int exit_code = -1;  // -1: killed by a signal
  std::string out, err;
};

// Runs `argv` (argv[0] a path) with stdin from `stdin_path` (empty: /dev/null); waits.
ChildResult run_child(const std::vector<std::string>& argv, const std::string& stdin_path = "");

// Starts `argv` in the background with stdout/stderr to files; returns its pid (-1 on failure).
pid_t spawn_child(const std::vector<std::string>& argv, const std::string& stdout_path,
                  const std::string& stderr_path);
// Waits for `pid`; its exit code (-1 when a signal ended it).
int wait_child(pid_t pid);

// Runs a shell command line (bash -o pipefail -c) and returns its stdout; exit code in *status.
std::string run_shell(const std::string& command, int* status);

std::string read_text(const std::string& path);

}  // namespace vamba::testing
