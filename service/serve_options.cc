#include "service/serve_options.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace vamba::service {
namespace {

namespace fs = std::filesystem;

// Keys whose name is not the option's long name with '_' for '-'.
struct KeyAlias {
  const char* key;
  const char* option;
};
constexpr KeyAlias kAliases[] = {{"allowed_roots", "allow-path"}};

// Command-line only: a config file cannot name another one, and help is not a setting.
const std::set<std::string> kNotInFile = {"config", "help"};

// Keys holding paths: relative ones are taken relative to the config file's folder.
const std::set<std::string> kPathKeys = {"model", "tls_cert", "tls_key", "auth_token_file",
                                         "allowed_roots"};

std::string option_key(const std::string& long_name) {
  for (const auto& a : kAliases) {
    if (long_name == a.option) return a.key;
  }
  std::string key = long_name;
  std::replace(key.begin(), key.end(), '-', '_');
  return key;
}

// The option a key stands for, or null when `app` has none.
CLI::Option* option_for_key(CLI::App& app, const std::string& key) {
  if (kNotInFile.count(key)) return nullptr;
  for (CLI::Option* opt : app.get_options()) {
    for (const std::string& name : opt->get_lnames()) {
      if (option_key(name) == key) return opt;
    }
  }
  return nullptr;
}

StatusOr<std::string> scalar_string(const nlohmann::json& v, const std::string& where) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return std::string(v.get<bool>() ? "true" : "false");
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_number_float()) {
    std::ostringstream s;
    s.precision(17);
    s << v.get<double>();
    return s.str();
  }
  return invalid_argument(where + " must be a string, a number or a boolean, not " +
                          std::string(v.type_name()));
}

std::string read_whole(const std::string& path, bool* ok) {
  std::ifstream in(path, std::ios::binary);
  *ok = static_cast<bool>(in);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string trim(std::string s) {
  const char* space = " \t\r\n";
  const size_t first = s.find_first_not_of(space);
  if (first == std::string::npos) return "";
  s.erase(s.find_last_not_of(space) + 1);
  return s.substr(first);
}

Status apply_config_file(CLI::App& app, const std::string& path) {
  bool ok = false;
  const std::string text = read_whole(path, &ok);
  if (!ok) return invalid_argument("cannot read the config file " + path);
  VAMBA_ASSIGN_OR_RETURN(std::vector<ConfigEntry> entries, parse_config_json(text, path));
  const fs::path folder = fs::absolute(fs::path(path)).parent_path();
  for (ConfigEntry& e : entries) {
    CLI::Option* opt = option_for_key(app, e.key);
    if (!opt) {
      std::string known;
      for (const auto& k : serve_config_keys(app)) known += (known.empty() ? "" : ", ") + k;
      return invalid_argument("config " + path + ": unknown key '" + e.key +
                              "' (known keys: " + known + ")");
    }
    if (e.is_list && opt->get_items_expected_max() <= 1) {
      return invalid_argument("config " + path + ": key '" + e.key +
                              "' takes one value, not a list");
    }
    if (opt->count() > 0) continue;  // the command line wins
    if (kPathKeys.count(e.key)) {
      for (std::string& v : e.values) {
        if (!v.empty() && fs::path(v).is_relative()) v = (folder / v).lexically_normal().string();
      }
    }
    try {
      opt->add_result(e.values);
      opt->run_callback();
    } catch (const CLI::Error& err) {
      return invalid_argument("config " + path + ": key '" + e.key + "': " + err.what());
    }
  }
  return ok_status();
}

}  // namespace

StatusOr<std::vector<ConfigEntry>> parse_config_json(const std::string& text,
                                                     const std::string& name) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text, /*cb=*/nullptr, /*allow_exceptions=*/true,
                                /*ignore_comments=*/true);
  } catch (const nlohmann::json::exception& e) {
    return invalid_argument("config " + name + " is not valid JSON: " + e.what());
  }
  if (!doc.is_object()) {
    return invalid_argument("config " + name + " must be a JSON object ({\"key\": value, ...})");
  }
  std::vector<ConfigEntry> entries;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    ConfigEntry e;
    e.key = it.key();
    const std::string where = "config " + name + ": key '" + e.key + "'";
    if (it->is_array()) {
      e.is_list = true;
      for (const auto& item : *it) {
        VAMBA_ASSIGN_OR_RETURN(std::string v, scalar_string(item, where + " (list item)"));
        e.values.push_back(std::move(v));
      }
    } else {
      VAMBA_ASSIGN_OR_RETURN(std::string v, scalar_string(*it, where));
      e.values.push_back(std::move(v));
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

std::vector<std::string> serve_config_keys(const CLI::App& app) {
  std::vector<std::string> keys;
  for (const CLI::Option* opt : app.get_options()) {
    const auto& names = opt->get_lnames();
    if (names.empty()) continue;
    const std::string key = option_key(names.front());
    if (!kNotInFile.count(key)) keys.push_back(key);
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

void add_serve_options(CLI::App& sub, ServeSettings* a) {
  ServerOptions& o = a->server;
  sub.add_option("--config", a->config_file,
                 "JSON file with any of these options (keys: the long names with '_'; "
                 "see docker/serve.example.json); flags given here win")
      ->check(CLI::ExistingFile);
  sub.add_option("--model", a->model, "Checkpoint folder (required, here or in --config)");
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
                 "Require 'authorization: Bearer <token>' on every vamba.v1 call "
                 "(also from $VAMBA_AUTH_TOKEN)")
      ->envname("VAMBA_AUTH_TOKEN");
  sub.add_option("--auth-token-file", a->auth_token_file,
                 "Read the bearer token from this file (keeps it out of argv and configs)");
  sub.add_option("--tls-cert", o.tls_cert_file, "PEM certificate chain (with --tls-key: TLS)");
  sub.add_option("--tls-key", o.tls_key_file, "PEM private key");
  sub.add_option("--metrics-port", o.metrics_port,
                 "Serve Prometheus /metrics over HTTP on this port (0: any free port)")
      ->check(CLI::Range(0, 65535));
  sub.add_option("--http-port", o.http_port,
                 "Serve the OpenAI-compatible HTTP API (/v1/chat/completions, /v1/models, /health, "
                 "/metrics) on this port, from the same workers (0: any free port; default: off)")
      ->check(CLI::Range(0, 65535));
  sub.add_option("--served-model-name", o.served_model_name,
                 "The model id of the HTTP API (default: the checkpoint folder's name)");
  sub.add_option("--allow-path", o.allowed_roots,
                 "Directory whose files clients may name as video.uri (repeatable; "
                 "none: no local files)");
  sub.add_option("--allow-remote-urls", o.allow_remote_urls,
                 "Open http(s)/rtsp(s)/rtmp(s) URLs given as video.uri (true/false)")
      ->capture_default_str();
  sub.add_option("--max-queue", o.worker.max_queue, "Requests waiting before RESOURCE_EXHAUSTED")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20))
      ->capture_default_str();
  sub.add_option("--max-batch", o.worker.max_batch,
                 "Answers decoded together, one batched step for all (weights read once per step)")
      ->check(CLI::Range(size_t{1}, size_t{256}))
      ->capture_default_str();
  sub.add_option("--token-budget", o.worker.max_reserved_tokens,
                 "Tokens (answer + question) reserved by queued and running requests")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40))
      ->capture_default_str();
  sub.add_option("--kv-store", o.limits.kv_store,
                 "Videos' cross-attention K/V: bf16, or fp8 (e4m3, half the memory)")
      ->transform(
          CLI::CheckedTransformer(std::map<std::string, KvStore>{{"bf16", KvStore::kActivation},
                                                                 {"fp8", KvStore::kFp8E4M3}},
                                  CLI::ignore_case));
  sub.add_option("--video-memory-mb", o.limits.video_memory_mb,
                 "Device memory one video may take, MiB (0: what is free); a video over it is "
                 "refused before decoding")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40))
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
  sub.add_option("--default-max-tokens", o.limits.default_max_tokens,
                 "Answer length when a request gives none")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24))
      ->capture_default_str();
  sub.add_option("--shutdown-grace", o.shutdown_grace_s,
                 "Seconds in-flight calls get to finish on SIGINT/SIGTERM")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub.add_option("--log-level", a->log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
}

Status finish_serve_settings(CLI::App& app, ServeSettings* a) {
  if (!a->config_file.empty()) VAMBA_RETURN_IF_ERROR(apply_config_file(app, a->config_file));
  if (a->model.empty()) return invalid_argument("--model (or \"model\" in --config) is required");
  if (a->server.served_model_name.empty()) {
    // The HTTP API's model id: "/models/Vamba-Qwen2-VL-7B/" -> "Vamba-Qwen2-VL-7B".
    fs::path dir = fs::absolute(fs::path(a->model)).lexically_normal();
    if (!dir.has_filename()) dir = dir.parent_path();
    a->server.served_model_name = dir.filename().string();
  }
  if (!a->auth_token_file.empty()) {
    if (!a->server.auth_token.empty()) {
      return invalid_argument("give the bearer token once: auth_token or auth_token_file");
    }
    bool ok = false;
    a->server.auth_token = trim(read_whole(a->auth_token_file, &ok));
    if (!ok) return invalid_argument("cannot read the auth token file " + a->auth_token_file);
    if (a->server.auth_token.empty()) {
      return invalid_argument("the auth token file " + a->auth_token_file + " is empty");
    }
  }
  if (a->server.limits.default_max_tokens > a->server.limits.max_tokens) {
    return invalid_argument("default_max_tokens must not exceed max_tokens");
  }
  if (a->server.limits.default_frames > a->server.limits.max_frames) {
    return invalid_argument("default_frames must not exceed max_frames");
  }
  return ok_status();
}

}  // namespace vamba::service
