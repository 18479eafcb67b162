// The subcommand registry of the `vamba` binary. Each cmd file registers itself at static-init time:
//
//   static const bool registered = vamba::cli::register_command(
//       {"tokenize", "Tokenize JSON lines from stdin", &setup_tokenize});
//
// setup() adds its options to the CLI11 subcommand and returns the function that runs it; that
// function returns the process exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace vamba::cli {

using RunFn = std::function<int()>;

struct Command {
  std::string name;
  std::string help;
  RunFn (*setup)(CLI::App& sub);
};

bool register_command(const Command& command);
const std::vector<Command>& commands();

// Prints "vamba <name>: error: <message>" to stderr; returns the exit code for usage/input errors (2)
// or runtime failures (1).
int fail(const std::string& command, const std::string& message, int code = 1);

}  // namespace vamba::cli
