#include "engine/state/memory_plan.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "engine/core/allocator.h"

namespace vamba {
namespace {

// The memory the Linux kernel reports a new allocation may take without swapping (free memory
// plus reclaimable caches), or -1 where /proc/meminfo has no MemAvailable.
int64_t linux_mem_available() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("MemAvailable:", 0) != 0) continue;
    std::istringstream fields(line.substr(13));
    int64_t kib = -1;
    fields >> kib;
    return kib >= 0 ? kib * 1024 : -1;
  }
  return -1;
}

int64_t with_margin(int64_t bytes) {
  return static_cast<int64_t>(kWorkingMemoryMargin * static_cast<double>(bytes));
}

}  // namespace

int64_t lm_chunk_bytes_per_token(const VambaConfig& config, DType activation) {
  const int64_t a = static_cast<int64_t>(dtype_size(activation));
  // v_l, RMSNorm(v_l), the mixer's output and v_{l+1}; the cross-attention K and V projections
  // before they are appended (or quantized) into the store.
  int64_t bytes = 4 * int64_t{config.hidden_size} * a +
                  2 * int64_t{config.num_key_value_heads} * config.head_dim() * a;
  const MambaMixerConfig& m = config.mamba;
  if (m.enable) {
    const int64_t heads = m.nheads(), q = std::max(1, m.chunk_size);
    bytes += int64_t{m.in_proj_dim()} * a     // zxbcdt
             + int64_t{m.conv_dim()} * a      // xBC after the causal conv
             + heads * 4                      // dt (f32)
             + 2 * int64_t{m.d_inner()} * a;  // y and its gated norm
    // The chunked SSD's workspace (kernels/ssd/ssd.h ssd_workspace_bytes): dt and cumsum per head,
    // C·Bᵀ (Q floats per token and group), the chunk states in f32 and the incoming ones in bf16.
    const int64_t states = heads * m.headdim * m.d_state;
    bytes += 2 * heads * 4 + int64_t{m.ngroups} * q * 4 + (states * (4 + 2) + q - 1) / q;
  }
  return bytes;
}

int64_t tower_bytes_per_patch(const VambaConfig& config, DType activation) {
  const int64_t a = static_cast<int64_t>(dtype_size(activation));
  const VisionConfig& v = config.vision;
  const int64_t e = v.embed_dim;
  const int64_t pixel_cols =
      int64_t{v.in_channels} * v.temporal_patch_size * v.patch_size * v.patch_size;
  const int64_t head_dim = v.num_heads > 0 ? e / v.num_heads : e;
  return pixel_cols * (4 + a)         // the f32 pixels copied up and their activation-dtype cast
         + 2 * head_dim * 4           // rotary cos and sin rows
         + (7 + v.mlp_ratio) * e * a  // x, normed, q, k, v, attention out, projection; MLP hidden
         + e * a;                     // the merger's rows (merge² · E per merged token)
}

VideoMemoryPlan plan_video_memory(const VambaConfig& config, DType activation,
                                  const VideoMemoryShape& shape) {
  VideoMemoryPlan plan;
  plan.video_tokens = std::max<int64_t>(0, shape.video_tokens);
  const int64_t a = static_cast<int64_t>(dtype_size(activation));
  const int64_t n = plan.video_tokens;
  plan.kv_bytes =
      n * config.num_hidden_layers *
      kv_bytes_per_token(config.num_key_value_heads, config.head_dim(), a, shape.kv_store);
  if (n == 0) return plan;

  // The LM's pass runs on chunks of at most max_chunk_tokens (0: the whole video at once).
  const int64_t chunk = shape.max_chunk_tokens > 0 ? std::min(n, shape.max_chunk_tokens) : n;
  plan.lm_chunk_bytes = with_margin(chunk * lm_chunk_bytes_per_token(config, activation));

  // One tower batch, and its output tokens (v0 of the batch) until the LM has taken them.
  const int64_t merge = std::max<int64_t>(
      1, int64_t{config.vision.spatial_merge_size} * config.vision.spatial_merge_size);
  const int64_t patches = std::clamp<int64_t>(shape.tower_patches, 0, n * merge);
  plan.tower_bytes = with_margin(patches * tower_bytes_per_patch(config, activation));
  plan.v0_bytes = (patches + merge - 1) / merge * config.hidden_size * a;
  return plan;
}

StatusOr<int64_t> available_video_memory(Device device, int64_t reserve_bytes,
                                         int64_t limit_bytes) {
  int64_t available = 0;
  if (device.is_cuda()) {
    size_t free_bytes = 0, total_bytes = 0;
    VAMBA_RETURN_IF_ERROR(cuda::mem_info(device.index, &free_bytes, &total_bytes));
    // Blocks our caching allocator holds but nobody uses are as good as free.
    VAMBA_ASSIGN_OR_RETURN(Allocator * alloc, allocator_for(device));
    const AllocatorStats s = alloc->stats();
    available = static_cast<int64_t>(free_bytes) +
                static_cast<int64_t>(s.reserved_bytes - std::min(s.reserved_bytes, s.in_use_bytes));
  } else {
    available = linux_mem_available();
    if (available < 0) {
      const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
      available = pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : INT64_MAX / 2;
    }
  }
  available = std::max<int64_t>(0, available - std::max<int64_t>(0, reserve_bytes));
  if (limit_bytes > 0) available = std::min(available, limit_bytes);
  return available;
}

std::string format_bytes(int64_t bytes) {
  char buf[32];
  const double b = static_cast<double>(bytes);
  if (b >= 0.1 * double(1ull << 30)) {
    std::snprintf(buf, sizeof(buf), "%.2f GiB", b / double(1ull << 30));
  } else if (b >= 0.1 * double(1ull << 20)) {
    std::snprintf(buf, sizeof(buf), "%.1f MiB", b / double(1ull << 20));
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f KiB", b / 1024.0);
  }
  return buf;
}

Status check_video_fits(const VideoMemoryPlan& plan, int64_t available_bytes) {
  if (plan.total_bytes() <= available_bytes) return ok_status();
  return resource_exhausted(
      "the video needs " + format_bytes(plan.total_bytes()) + " of device memory for " +
      std::to_string(plan.video_tokens) + " video tokens (cross-attention K/V " +
      format_bytes(plan.kv_bytes) + ", working memory " + format_bytes(plan.working_bytes()) +
      ") but " + format_bytes(available_bytes) +
      " is available; sample fewer frames (--frames, --fps), pre-resize them smaller "
      "(--shortest-edge, --longest-edge), or store the K/V in fp8 (--kv-store fp8)");
}

}  // namespace vamba
