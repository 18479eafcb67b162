#include "cli/command.h"

#include <iostream>

namespace vamba::cli {

static std::vector<Command>& registry() {
  static std::vector<Command> r;
  return r;
}

bool register_command(const Command& command) {
  registry().push_back(command);
  return true;
}

const std::vector<Command>& commands() { return registry(); }

int fail(const std::string& command, const std::string& message, int code) {
  std::cerr << "vamba " << command << ": error: " << message << std::endl;
  return code;
}

}  // namespace vamba::cli
