// A checkpoint held in memory with random weights of the right shapes for any config: benchmarks
// run at the real 7B shapes without the real weights, and `vamba random-checkpoint` writes the
// bundled demo model. Values follow the model's init ranges (small uniform matrices, unit norms,
// Mamba's A in A_init_range and dt in [dt_min, dt_max]), so activations stay in a realistic range
// and nothing overflows.
//
// Deterministic: every value depends only on (seed, tensor name, element index), never on the
// number of threads, so a seed names one checkpoint on every machine.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "engine/model/checkpoint.h"

namespace vamba {

// The 7B config (hidden 3584, 28 layers, 28/4 heads, intermediate 18944, vocab 152064; Mamba
// d_state 128, headdim 64, expand 2, chunk 256; alpha balancing on; the 7B vision tower).
VambaConfig vamba_7b_config();

// Fills every tensor of weight_table(config) for which `keep(name)` is true (all when `keep` is
// empty) with bf16 values on the CPU, using `threads` threads. `ck.dir` is "<random>"; the
// preprocessor config keeps Qwen2-VL's defaults.
StatusOr<Checkpoint> random_checkpoint(const VambaConfig& config, uint64_t seed, int threads,
                                       const std::function<bool(const std::string&)>& keep = {});

}  // namespace vamba
