#include "engine/state/memory_plan.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "engine/core/allocator.h"

namespace vamba {
namespace {

// Working buffers are estimated from the shapes the kernels allocate; this factor covers the
// allocator's size classes (2 MiB granules) and short-lived temporaries not counted one by one.
constexpr double kWorkingMargin = 1.5;

}  // namespace

VideoMemoryPlan plan_video_memory(const VambaConfig& config, DType activation,
                                  const VideoMemoryShape& shape) {
  VideoMemoryPlan plan;
  plan.video_tokens = shape.video_tokens;
  const int64_t a = static_cast<int64_t>(dtype_size(activation));
  const int64_t layers = config.num_hidden_layers;
  plan.kv_bytes =
      shape.video_tokens * layers *
      kv_bytes_per_token(config.num_key_value_heads, config.head_dim(), a, shape.kv_store);

  // One LM chunk, per token: the piece's v_l and v_{l+1} and its normed copy (hidden each), the
  // cross K/V projections, and in the Mamba mixer the in_proj output, the conv output, dt, y and
  // its gated norm, out_proj's output; plus the SSD's fp32 chunk states (one per chunk of
  // chunk_size tokens: nheads × headdim × d_state).
  const int64_t chunk =
      shape.video_tokens > 0
          ? std::min(shape.video_tokens, std::max<int64_t>(1, shape.max_chunk_tokens))
          : 0;
  const MambaMixerConfig& m = config.mamba;
  int64_t per_token = 4 * int64_t{config.hidden_size} * a +
                      2 * int64_t{config.num_key_value_heads} * config.head_dim() * a;
  if (m.enable) {
    per_token += int64_t{m.in_proj_dim()} * a + int64_t{m.conv_dim()} * a +
                 int64_t{m.nheads()} * 4 + 3 * int64_t{m.d_inner()} * a +
                 int64_t{m.nheads()} * m.headdim * m.d_state * 4 / std::max(1, m.chunk_size);
  }
  plan.lm_chunk_bytes = static_cast<int64_t>(kWorkingMargin * chunk * per_token);

  // One tower batch, per patch: the f32 pixels, the residual stream and the widest sub-block (the
  // MLP's mlp_ratio × embed_dim, beside q/k/v), in the activation dtype; and the batch's merged
  // output (a quarter of the patches × the LM width), handed to the LM.
  const VisionConfig& v = config.vision;
  const int64_t pixel_cols =
      int64_t{v.in_channels} * v.temporal_patch_size * v.patch_size * v.patch_size;
  const int64_t merge = int64_t{v.spatial_merge_size} * v.spatial_merge_size;
  const int64_t per_patch = pixel_cols * 4 + (2 + 3 + v.mlp_ratio) * int64_t{v.embed_dim} * a +
                            int64_t{v.hidden_size} * a / std::max<int64_t>(1, merge);
  const int64_t patches =
      shape.video_tokens > 0 ? std::min(shape.tower_patches, shape.video_tokens * merge) : 0;
  plan.tower_bytes = static_cast<int64_t>(kWorkingMargin * patches * per_patch);
  return plan;
}

StatusOr<int64_t> available_video_memory(Device device, int64_t reserve_bytes,
                                         int64_t limit_bytes) {
  int64_t available = 0;
  if (device.is_cuda()) {
    size_t free_bytes = 0, total_bytes = 0;
    VAMBA_RETURN_IF_ERROR(cuda::mem_info(device.index, &free_bytes, &total_bytes));
    VAMBA_ASSIGN_OR_RETURN(Allocator * alloc, allocator_for(device));
    const AllocatorStats s = alloc->stats();
    available = static_cast<int64_t>(free_bytes) +
                static_cast<int64_t>(s.reserved_bytes - std::min(s.reserved_bytes, s.in_use_bytes));
  } else {
    const long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    available = pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : INT64_MAX / 2;
  }
  available = std::max<int64_t>(0, available - std::max<int64_t>(0, reserve_bytes));
  if (limit_bytes > 0) available = std::min(available, limit_bytes);
  return available;
}

std::string format_gib(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f GiB", static_cast<double>(bytes) / double(1ull << 30));
  return buf;
}

Status check_video_fits(const VideoMemoryPlan& plan, int64_t available_bytes) {
  if (plan.total_bytes() <= available_bytes) return ok_status();
  return resource_exhausted(
      "the video needs " + format_gib(plan.total_bytes()) + " of device memory for " +
      std::to_string(plan.video_tokens) + " video tokens (cross-attention K/V " +
      format_gib(plan.kv_bytes) + ", working memory " +
      format_gib(plan.lm_chunk_bytes + plan.tower_bytes) + ") but " + format_gib(available_bytes) +
      " is available; sample fewer frames, pre-resize them smaller, or store the K/V in fp8 "
      "(--kv-store fp8)");
}

}  // namespace vamba
