// tower_bench: the Qwen2-VL vision tower at Vamba-Qwen2-VL-7B's vision shapes (depth 32, width
// 1280, 16 heads, MLP ×4, patch 14, temporal patch 2, 2×2 merge, 3584 out) with random weights:
// encode time for F frames at H×W, frames/s, achieved TFLOP/s, and the FLOP floor at 800 TFLOP/s.
// The time covers what VisionTower::encode does for a video: pixel rows copied to the GPU batch by
// batch, patch embedding, every block, the merger. One machine-readable line per case:
//   bench=vision_tower device=cuda frames=16 height=448 width=448 patches=... tokens=... ms=...
//     frames_per_s=... tflops=... floor_ms=... x_floor=... peak_gib=...
// Without a GPU it runs one reduced case on the CPU (depth 2, 2 frames at 224×224) unless --device
// says otherwise: a check that the path works, not a figure to report.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/random_checkpoint.h"
#include "engine/core/allocator.h"
#include "engine/core/device.h"
#include "vision/tower/vision_tower.h"

namespace vamba::bench {
namespace {

constexpr double kPeakFlops = 800e12;  // bf16 dense, the H100 figure of bench/RESULTS.md

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Matrix-product FLOPs of encoding `pairs` temporal pairs of h × w patches each (2 per
// multiply-add). LayerNorms, rotary, activations and residual adds are not counted.
double tower_flops(const VisionConfig& c, double pairs, double h, double w) {
  const double e = c.embed_dim, m = c.mlp_ratio * e;
  const double cols = double(c.in_channels) * c.temporal_patch_size * c.patch_size * c.patch_size;
  const double group = double(c.spatial_merge_size) * c.spatial_merge_size;
  const double p = h * w;                        // patches per pair: attention runs within a pair
  const double per_block = 2 * p * e * 3 * e     // qkv
                           + 2 * 2 * p * p * e   // q·kᵀ and attention·v, all heads
                           + 2 * p * e * e       // proj
                           + 2 * 2 * p * e * m;  // fc1, fc2
  const double merged = group * e;
  const double merger =
      2 * (p / group) * merged * merged + 2 * (p / group) * merged * c.hidden_size;
  return pairs * (2 * p * cols * e + c.depth * per_block + merger);
}

struct Args {
  std::vector<int64_t> frames = {16, 64};
  int height = 448;
  int width = 448;
  int depth = 0;  // 0: the 7B's 32
  int iters = 3;
  int64_t batch_patches = 0;  // 0: the tower's default
  std::string device;
};

int run(Args a) {
  if (a.device.empty()) {
    if (cuda::available()) {
      a.device = "cuda";
    } else {
      a.device = "cpu";
      a.depth = a.depth > 0 ? a.depth : 2;
      a.frames = {2};
      a.height = a.width = 224;
      a.iters = 1;
      fprintf(stderr,
              "tower_bench: no CUDA device; running one reduced case on the CPU (depth %d, 2 "
              "frames at 224x224) as a check, not a figure\n",
              a.depth);
    }
  }
  auto device = parse_device(a.device);
  if (!device.ok()) return fprintf(stderr, "%s\n", device.status().to_string().c_str()), 2;
  VambaConfig config = vamba_7b_config();
  if (a.depth > 0) config.vision.depth = a.depth;
  const VisionConfig& vc = config.vision;
  const int factor = vc.patch_size * vc.spatial_merge_size;
  if (a.height % factor != 0 || a.width % factor != 0 || a.height <= 0 || a.width <= 0) {
    fprintf(stderr, "tower_bench: --height and --width must be positive multiples of %d\n", factor);
    return 2;
  }
  auto stream = Stream::create(*device);
  if (!stream.ok()) return fprintf(stderr, "%s\n", stream.status().to_string().c_str()), 1;

  const double t0 = now_s();
  auto ck = random_checkpoint(
      config, 1234, 16, [](const std::string& name) { return name.rfind("visual.", 0) == 0; });
  if (!ck.ok()) return fprintf(stderr, "%s\n", ck.status().to_string().c_str()), 1;
  auto tower = vision::VisionTower::load(*ck, *device, &*stream);
  if (!tower.ok()) return fprintf(stderr, "%s\n", tower.status().to_string().c_str()), 1;
  ck->weights.clear();  // the host copies are no longer needed
  if (!stream->synchronize().ok()) return 1;
  fprintf(stderr, "loaded a random vision tower (depth %d, width %d) in %.1f s\n", vc.depth,
          vc.embed_dim, now_s() - t0);

  vision::VisionEncodeOptions options;
  if (a.batch_patches > 0) options.max_patches_per_batch = a.batch_patches;
  const int64_t gh = a.height / vc.patch_size, gw = a.width / vc.patch_size;
  const int64_t cols =
      int64_t{vc.in_channels} * vc.temporal_patch_size * vc.patch_size * vc.patch_size;
  // The first case runs once more untimed: kernel loading, cuBLASLt heuristics, the allocator.
  bool warmed = false;
  for (int64_t frames : a.frames) {
    const int64_t pairs = (frames + vc.temporal_patch_size - 1) / vc.temporal_patch_size;
    const int64_t patches = pairs * gh * gw;
    // Pixel rows in the processor's range (normalised values within about ±2).
    std::vector<float> host(static_cast<size_t>(patches * cols));
    uint64_t s = 99;
    for (auto& x : host) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      x = static_cast<float>(static_cast<int64_t>(s >> 40) % 4001 - 2000) * 1e-3f;
    }
    auto pixels = Tensor::from_floats({patches, cols}, host);
    if (!pixels.ok()) return fprintf(stderr, "%s\n", pixels.status().to_string().c_str()), 1;
    std::vector<double> ms;
    Status st = ok_status();
    for (int i = warmed ? 0 : -1; i < a.iters && st.ok(); ++i) {
      const double ts = now_s();
      auto tokens = tower->encode(*pixels, pairs, gh, gw, options, *stream);
      st = tokens.ok() ? stream->synchronize() : tokens.status();
      if (i >= 0) ms.push_back((now_s() - ts) * 1e3);
    }
    warmed = true;
    if (!st.ok()) {
      printf("bench=vision_tower device=%s frames=%lld error=\"%s\"\n", device->to_string().c_str(),
             (long long)frames, st.to_string().c_str());
      continue;
    }
    std::sort(ms.begin(), ms.end());
    const double med = ms[ms.size() / 2];
    const double flops = tower_flops(vc, pairs, gh, gw);
    const double floor_ms = flops / kPeakFlops * 1e3;
    auto alloc = allocator_for(*device);
    const double peak_gib =
        alloc.ok() ? (*alloc)->stats().peak_in_use_bytes / double(1ull << 30) : 0.0;
    printf(
        "bench=vision_tower device=%s depth=%d frames=%lld height=%d width=%d patches=%lld "
        "tokens=%lld ms=%.2f frames_per_s=%.1f gflop=%.1f tflops=%.1f floor_ms=%.2f "
        "x_floor=%.2f peak_gib=%.2f\n",
        device->to_string().c_str(), vc.depth, (long long)(pairs * vc.temporal_patch_size),
        a.height, a.width, (long long)patches,
        (long long)(patches / (vc.spatial_merge_size * vc.spatial_merge_size)), med,
        pairs * vc.temporal_patch_size / (med / 1e3), flops / 1e9, flops / (med / 1e3) / 1e12,
        floor_ms, med / floor_ms, peak_gib);
    fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace vamba::bench

int main(int argc, char** argv) {
  vamba::bench::Args a;
  CLI::App app{"Vision tower throughput at Vamba-Qwen2-VL-7B's vision shapes (random weights)"};
  app.add_option("--frames", a.frames, "Frame counts, one case each (rounded up to pairs)")
      ->capture_default_str();
  app.add_option("--height", a.height, "Frame height after the processor (multiple of 28)")
      ->capture_default_str();
  app.add_option("--width", a.width, "Frame width after the processor (multiple of 28)")
      ->capture_default_str();
  app.add_option("--depth", a.depth, "Blocks (default: the 7B's 32)");
  app.add_option("--iters", a.iters, "Timed runs per case (median reported)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--batch-patches", a.batch_patches,
                 "Max patches per tower batch (default: the tower's)");
  app.add_option("--device", a.device, "cpu or cuda[:i] (default: cuda when available)");
  CLI11_PARSE(app, argc, argv);
  return vamba::bench::run(a);
}
