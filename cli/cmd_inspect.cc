// vamba inspect --model DIR: opens a checkpoint the way the engine does (both configs, every tensor
// checked against the weight table) and prints what it found, so a bad download or a wrong model
// is caught before serving.
#include <iostream>
#include <map>
#include <string>

#include "cli/command.h"
#include "engine/model/checkpoint.h"

namespace {

std::string human_bytes(size_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.2f %s", v, units[u]);
  return buf;
}

vamba::cli::RunFn setup_inspect(CLI::App& sub) {
  auto dir = std::make_shared<std::string>();
  auto list = std::make_shared<bool>(false);
  sub.add_option("--model,-m", *dir,
                 "Checkpoint folder (config.json, model.safetensors[.index.json])")
      ->required();
  sub.add_flag("--list-tensors", *list, "Also list every tensor with dtype and shape");
  return [dir, list]() -> int {
    auto opened = vamba::Checkpoint::open(*dir);
    if (!opened.ok()) return vamba::cli::fail("inspect", opened.status().to_string());
    const vamba::Checkpoint& ck = *opened;
    const vamba::VambaConfig& c = ck.config;
    std::cout << "checkpoint: " << ck.dir << "\n"
              << "model_type: " << c.model_type << " (" << c.torch_dtype << ")\n"
              << "language model: " << c.num_hidden_layers << " layers, hidden " << c.hidden_size
              << ", intermediate " << c.intermediate_size << ", heads " << c.num_attention_heads
              << " (kv " << c.num_key_value_heads << ", head_dim " << c.head_dim() << "), vocab "
              << c.vocab_size << "\n"
              << "  rms_norm_eps " << c.rms_norm_eps << ", rope_theta " << c.rope_theta << ", rope "
              << c.rope_type << " mrope_section [" << c.mrope_section[0] << ", "
              << c.mrope_section[1] << ", " << c.mrope_section[2] << "], alpha balancing "
              << (c.use_alpha_balancing ? "on" : "off") << ", tied embeddings "
              << (c.tie_word_embeddings ? "yes" : "no") << "\n"
              << "vision tower: depth " << c.vision.depth << ", embed_dim " << c.vision.embed_dim
              << ", heads " << c.vision.num_heads << ", patch " << c.vision.patch_size
              << " x temporal " << c.vision.temporal_patch_size << ", merge "
              << c.vision.spatial_merge_size << " -> " << c.vision.hidden_size << "\n";
    if (c.mamba.enable) {
      std::cout << "mamba-2 mixer: d_model " << c.mamba.hidden_dim << ", d_inner "
                << c.mamba.d_inner() << ", d_ssm " << c.mamba.ssm_dim() << ", d_state "
                << c.mamba.d_state << ", d_conv " << c.mamba.d_conv << ", heads "
                << c.mamba.nheads() << " x " << c.mamba.headdim << ", ngroups " << c.mamba.ngroups
                << ", chunk " << c.mamba.chunk_size << ", dt_limit [" << c.mamba.dt_limit[0] << ", "
                << c.mamba.dt_limit[1] << "]\n";
    } else {
      std::cout << "mamba-2 mixer: disabled\n";
    }
    std::cout << "preprocessor: pixels [" << ck.preprocessor.min_pixels << ", "
              << ck.preprocessor.max_pixels << "], patch " << ck.preprocessor.patch_size
              << ", merge " << ck.preprocessor.merge_size << "\n";

    size_t weight_bytes = 0;
    std::map<std::string, size_t> by_dtype;
    for (const auto& [name, t] : ck.weights) {
      weight_bytes += t.nbytes();
      by_dtype[vamba::dtype_name(t.dtype())] += 1;
    }
    std::cout << "files: " << ck.store.files().size() << ", tensors: " << ck.store.names().size()
              << " (" << human_bytes(ck.store.total_bytes()) << ")\n"
              << "weights used: " << ck.weights.size() << " (" << human_bytes(weight_bytes) << "; ";
    bool first = true;
    for (const auto& [dtype, n] : by_dtype) {
      std::cout << (first ? "" : ", ") << n << " " << dtype;
      first = false;
    }
    std::cout << ")\n";
    std::cout << "unused tensors: " << ck.unused.size() << "\n";
    for (const std::string& name : ck.unused) std::cout << "  " << name << "\n";
    if (*list) {
      for (const std::string& name : ck.store.names()) {
        const vamba::SafetensorsEntry* e = ck.store.find(name);
        std::cout << name << "\t" << vamba::dtype_name(e->dtype) << "\t"
                  << vamba::shape_to_string(e->shape) << "\n";
      }
    }
    return 0;
  };
}

const bool registered = vamba::cli::register_command(
    {"inspect", "Check a checkpoint folder and print its config and tensors", &setup_inspect});

}  // namespace
