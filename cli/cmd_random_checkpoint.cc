// vamba random-checkpoint --config CONFIG.json --out DIR [--seed N] [--threads T]
// A developer tool: writes a checkpoint folder in the Hugging Face layout with deterministic random
// bf16 weights for any config — DIR/model.safetensors (every tensor of the config's weight table,
// under the real checkpoint names) and DIR/config.json (a copy of CONFIG.json). The tokenizer and
// preprocessor files are the caller's to add (scripts/make_tiny_checkpoint.sh does). Its answers
// are noise; it exists so the demo, tests and benchmarks run without downloading weights.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "cli/command.h"
#include "cli/random_checkpoint.h"
#include "engine/model/safetensors.h"

namespace {

namespace fs = std::filesystem;
using vamba::Status;
using vamba::StatusOr;

struct RandomCheckpointArgs {
  std::string config;
  std::string out;
  uint64_t seed = 0;
  int threads = 0;  // 0: one per core
};

StatusOr<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return vamba::not_found(path + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) return vamba::unavailable(path + ": read failed");
  return text.str();
}

// The same text under `path`, written beside it and renamed, like the weights.
Status write_text_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      return vamba::unavailable(tmp + ": write failed");
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return vamba::unavailable(path + ": rename failed: " + ec.message());
  }
  return vamba::ok_status();
}

Status run_random_checkpoint(const RandomCheckpointArgs& a) {
  VAMBA_ASSIGN_OR_RETURN(std::string text, read_text(a.config));
  VAMBA_ASSIGN_OR_RETURN(vamba::VambaConfig config,
                         vamba::VambaConfig::from_json_text(text, a.config));
  const Status valid = config.validate();
  if (!valid.ok()) return Status(valid.code(), a.config + ": " + valid.message());
  std::error_code ec;
  fs::create_directories(a.out, ec);
  if (ec || !fs::is_directory(a.out)) {
    return vamba::invalid_argument("--out " + a.out + ": cannot create the folder");
  }
  const int threads = a.threads > 0
                          ? a.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  VAMBA_ASSIGN_OR_RETURN(vamba::Checkpoint ck, vamba::random_checkpoint(config, a.seed, threads));

  std::vector<std::pair<std::string, vamba::Tensor>> tensors(ck.weights.begin(), ck.weights.end());
  // "format: pt" is what transformers' safetensors loader asks for; the seed says how it was made.
  VAMBA_RETURN_IF_ERROR(
      vamba::write_safetensors(a.out + "/model.safetensors", tensors,
                               {{"format", "pt"}, {"vamba_random_seed", std::to_string(a.seed)}}));
  VAMBA_RETURN_IF_ERROR(write_text_atomically(a.out + "/config.json", text));
  size_t bytes = 0;
  for (const auto& [name, t] : tensors) bytes += t.nbytes();
  std::cerr << "random-checkpoint: " << tensors.size() << " tensors (" << (bytes >> 20)
            << " MiB bf16, seed " << a.seed << ") -> " << a.out << "\n";
  return vamba::ok_status();
}

vamba::cli::RunFn setup_random_checkpoint(CLI::App& sub) {
  auto a = std::make_shared<RandomCheckpointArgs>();
  sub.add_option("--config", a->config, "config.json of the model to make")->required();
  sub.add_option("--out", a->out, "Folder to write model.safetensors and config.json into")
      ->required();
  sub.add_option("--seed", a->seed, "Random seed (same seed, same bytes)")->capture_default_str();
  sub.add_option("--threads", a->threads, "Threads (0: one per core)")->capture_default_str();
  return [a]() -> int {
    const Status st = run_random_checkpoint(*a);
    if (!st.ok()) {
      const bool usage = st.code() == vamba::StatusCode::kInvalidArgument ||
                         st.code() == vamba::StatusCode::kNotFound;
      return vamba::cli::fail("random-checkpoint", st.to_string(), usage ? 2 : 1);
    }
    return 0;
  };
}

const bool registered = vamba::cli::register_command(
    {"random-checkpoint",
     "(developer) Write a checkpoint with deterministic random weights for a config.json",
     &setup_random_checkpoint});

}  // namespace
