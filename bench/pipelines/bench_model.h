// What the pipeline benchmarks share: a random-weight model (the vision tower and the hybrid LM)
// at Vamba-Qwen2-VL-7B's shapes on CUDA, or a reduced shape on the CPU (a check that the path
// runs, not a figure), and random inputs of the right shapes. Engine + tower only: these build in
// every preset and run on the GPU machine, which has no FFmpeg, OpenCV or gRPC.
#pragma once

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/random_checkpoint.h"
#include "engine/core/device.h"
#include "engine/models/vamba_lm.h"
#include "vision/tower/vision_tower.h"

namespace vamba::bench {

inline double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// A model small enough for two CPU cores, with every part of the 7B's structure (GQA, Mamba
// mixers, alpha balancing, a vision tower with 2x2 merge).
inline VambaConfig reduced_config() {
  VambaConfig c = vamba_7b_config();
  c.vocab_size = 4096;
  c.hidden_size = 256;
  c.intermediate_size = 512;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.mrope_section = {8, 12, 12};  // head_dim 64
  c.mamba.hidden_dim = 256;
  c.mamba.d_state = 16;
  c.mamba.headdim = 32;
  c.mamba.chunk_size = 64;
  c.vision.depth = 2;
  c.vision.embed_dim = 128;
  c.vision.num_heads = 4;
  c.vision.hidden_size = 256;
  return c;
}

struct BenchModel {
  VambaConfig config;
  Device device;
  Stream stream;
  std::unique_ptr<vision::VisionTower> tower;
  std::unique_ptr<VambaLm> lm;
};

// Random weights (seed 1234) for `config`, loaded onto `device`.
inline StatusOr<std::unique_ptr<BenchModel>> load_bench_model(const VambaConfig& config,
                                                              Device device) {
  auto m = std::make_unique<BenchModel>();
  m->config = config;
  m->device = device;
  VAMBA_ASSIGN_OR_RETURN(m->stream, Stream::create(device));
  VAMBA_ASSIGN_OR_RETURN(Checkpoint ck, random_checkpoint(config, 1234, 16));
  VAMBA_ASSIGN_OR_RETURN(vision::VisionTower tower,
                         vision::VisionTower::load(ck, device, &m->stream));
  m->tower = std::make_unique<vision::VisionTower>(std::move(tower));
  VAMBA_ASSIGN_OR_RETURN(m->lm, VambaLm::load(ck, device, m->stream));
  VAMBA_RETURN_IF_ERROR(m->stream.synchronize());
  return m;
}

// (rows, cols) f32 on the CPU, values in about ±scale, from a fixed seed.
inline StatusOr<Tensor> random_rows(int64_t rows, int64_t cols, float scale, uint64_t seed) {
  std::vector<float> host(static_cast<size_t>(rows * cols));
  uint64_t s = seed;
  for (auto& x : host) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = static_cast<float>(static_cast<int64_t>(s >> 40) % 2001 - 1000) * 1e-3f * scale;
  }
  return Tensor::from_floats({rows, cols}, host);
}

// The processor's output size for a frame (height, width multiples of patch × merge) -> patches
// and video tokens per temporal pair.
struct PairShape {
  int64_t grid_h = 0, grid_w = 0;
  int64_t patches = 0;  // per pair
  int64_t tokens = 0;   // per pair, after the 2x2 merge
  int64_t cols = 0;     // pixel values per patch row
};
inline PairShape pair_shape(const VisionConfig& vc, int height, int width) {
  PairShape p;
  p.grid_h = height / vc.patch_size;
  p.grid_w = width / vc.patch_size;
  p.patches = p.grid_h * p.grid_w;
  p.tokens = p.patches / (int64_t{vc.spatial_merge_size} * vc.spatial_merge_size);
  p.cols = int64_t{vc.in_channels} * vc.temporal_patch_size * vc.patch_size * vc.patch_size;
  return p;
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace vamba::bench
