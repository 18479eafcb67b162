// vamba: long-video understanding. One binary; the subcommands live in cli/cmd_*.cc.
#include <algorithm>
#include <iostream>
#include <map>

#include "cli/command.h"

int main(int argc, char** argv) {
  CLI::App app{"vamba: ask questions about long videos (Vamba-Qwen2-VL) on CPU or CUDA"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("vamba ") + VAMBA_VERSION_STRING);

  // Subcommands in name order, so --help reads the same whatever the link order was.
  std::vector<vamba::cli::Command> cmds = vamba::cli::commands();
  std::sort(cmds.begin(), cmds.end(), [](auto& a, auto& b) { return a.name < b.name; });
  std::map<CLI::App*, vamba::cli::RunFn> runners;
  for (const auto& cmd : cmds) {
    CLI::App* sub = app.add_subcommand(cmd.name, cmd.help);
    runners[sub] = cmd.setup(*sub);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  for (auto& [sub, run] : runners) {
    if (sub->parsed()) return run();
  }
  return 2;
}
