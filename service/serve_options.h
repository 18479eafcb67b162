// The options of `vamba serve`, from the command line and from a JSON config file (--config FILE).
//
// Every command-line option is also a config key: the long option name with '-' written '_'
// (--max-message-mb is "max_message_mb"), except --allow-path, whose key is "allowed_roots" (a
// list). The file is one JSON object; comments (// and /* */) are allowed. Options given on the
// command line win over the file. The file is checked with the same validators as the flags, an
// unknown key is an error that names it, and relative paths in it (model, tls_cert, tls_key,
// auth_token_file, allowed_roots) are relative to the file's folder.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "service/server.h"

namespace vamba::service {

struct ServeSettings {
  std::string config_file;
  std::string model;
  std::string device;  // "" = cuda when available, else cpu
  std::string log_level = "info";
  std::string auth_token_file;
  ServerOptions server;
};

// Adds every `vamba serve` option to `app`, bound to `settings`.
void add_serve_options(CLI::App& app, ServeSettings* settings);

// After `app` has parsed the command line: fills the options it did not set from the config file
// (when --config was given), reads the token file and checks what must be set. INVALID_ARGUMENT
// naming the file and the key for a bad file.
Status finish_serve_settings(CLI::App& app, ServeSettings* settings);

// One key of a config file with its values as command-line strings.
struct ConfigEntry {
  std::string key;
  std::vector<std::string> values;
  bool is_list = false;
};
// Parses the text of a config file (`name` is for messages): a JSON object whose values are
// strings, numbers, booleans or lists of those.
StatusOr<std::vector<ConfigEntry>> parse_config_json(const std::string& text,
                                                     const std::string& name);

// The config keys `app` accepts (sorted), and the option each stands for.
std::vector<std::string> serve_config_keys(const CLI::App& app);

}  // namespace vamba::service
