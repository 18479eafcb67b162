// A checkpoint held in memory with random weights of the right shapes for any config, so benchmarks
// run at the real 7B shapes without the real weights. Values follow the model's init ranges (small
// normal matrices, unit norms, Mamba's A in [1, 16] and dt in [dt_min, dt_max]), so activations stay
// in a realistic range and nothing overflows.
#pragma once

#include "engine/model/checkpoint.h"

namespace vamba::bench {

// The 7B config (hidden 3584, 28 layers, 28/4 heads, intermediate 18944, vocab 152064; Mamba
// d_state 128, headdim 64, expand 2, chunk 256; alpha balancing on).
VambaConfig vamba_7b_config();

// Fills every tensor of weight_table(config) (bf16, on the CPU) using `threads` threads.
StatusOr<Checkpoint> random_checkpoint(const VambaConfig& config, uint64_t seed, int threads);

}  // namespace vamba::bench
