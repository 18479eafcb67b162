#include "pipelines/video_budget.h"

#include <algorithm>

#include "engine/ops/common.h"

namespace vamba::pipelines {
namespace {

// Other requests' question prefill and decode steps share the GPU with an encode; on the CPU the
// OS has its own slack.
constexpr int64_t kDefaultCudaReserve = int64_t{1} << 30;
// Past this many patches a tower batch is no faster (the GEMMs are already large) and only holds
// more memory.
constexpr int64_t kMaxAutoTowerPatches = 65536;

}  // namespace

StatusOr<VideoBudget> plan_video_budget(const VambaConfig& config,
                                        const PreprocessorConfig& preprocessor, Device device,
                                        const vision::VideoInfo& info, int64_t sampled_frames,
                                        const VideoEncodeOptions& options) {
  VideoBudget b;
  VAMBA_ASSIGN_OR_RETURN(
      b.grid, vision::predict_video_grid(info, sampled_frames, options.pre_resize, preprocessor));
  const int64_t merge = std::max(1, config.vision.spatial_merge_size);
  b.video_tokens = b.grid.tokens(merge);
  const int64_t reserve = options.memory_reserve_bytes >= 0 ? options.memory_reserve_bytes
                          : device.is_cuda()                ? kDefaultCudaReserve
                                                            : 0;
  VAMBA_ASSIGN_OR_RETURN(b.available_bytes,
                         available_video_memory(device, reserve, options.memory_limit_bytes));

  const DType act = ops::activation_dtype(device);
  VideoMemoryShape shape;
  shape.video_tokens = b.video_tokens;
  shape.max_chunk_tokens = options.lm.max_chunk_tokens;
  shape.kv_store = options.kv_store;

  // The encode loop hands the tower whole frame pairs, at most one LM chunk's worth at once.
  const int64_t pair_patches = std::max<int64_t>(1, b.grid.grid_h * b.grid.grid_w);
  const int64_t pair_tokens = std::max<int64_t>(1, pair_patches / (merge * merge));
  int64_t max_pairs = std::max<int64_t>(1, b.grid.grid_t);
  if (options.lm.max_chunk_tokens > 0) {
    max_pairs =
        std::min(max_pairs, std::max<int64_t>(1, options.lm.max_chunk_tokens / pair_tokens));
  }
  int64_t pairs = 0;
  if (options.vision.max_patches_per_batch > 0) {
    pairs = options.vision.max_patches_per_batch / pair_patches;
  } else {
    // Auto: half of what the K/V and one LM chunk leave (headroom for the allocator and the
    // estimate), in whole pairs, at least one.
    shape.tower_patches = 0;
    const int64_t fixed = plan_video_memory(config, act, shape).total_bytes();
    const int64_t per_pair =
        static_cast<int64_t>(
            kWorkingMemoryMargin *
            static_cast<double>(pair_patches * tower_bytes_per_patch(config, act))) +
        pair_tokens * config.hidden_size * static_cast<int64_t>(dtype_size(act));
    pairs = std::max<int64_t>(0, b.available_bytes - fixed) / 2 / std::max<int64_t>(1, per_pair);
    pairs = std::min(pairs, kMaxAutoTowerPatches / pair_patches);
  }
  pairs = std::clamp<int64_t>(pairs, 1, max_pairs);
  b.tower_patches_per_batch = pairs * pair_patches;

  shape.tower_patches = b.tower_patches_per_batch;
  b.plan = plan_video_memory(config, act, shape);
  VAMBA_RETURN_IF_ERROR(check_video_fits(b.plan, b.available_bytes));
  return b;
}

}  // namespace vamba::pipelines
