// The vision tower's input grid for a video, known before a single frame is decoded: the display
// size (after rotation) through Vamba's pre-resize and the processor's smart_resize gives each
// frame's patch grid, and the sampled frame count gives the temporal pairs. The service and the
// CLI size the video's memory from this up front (engine/state/memory_plan.h).
#pragma once

#include <cstdint>
#include <optional>

#include "engine/model/config.h"
#include "vision/decode/video_frame.h"
#include "vision/preprocess/video_processor.h"

namespace vamba::vision {

struct VideoGrid {
  int64_t grid_t = 0;  // temporal pairs (an odd last frame is dropped)
  int64_t grid_h = 0;  // patch rows per frame
  int64_t grid_w = 0;  // patch columns per frame
  int64_t patches() const { return grid_t * grid_h * grid_w; }
  // Video tokens after the merger's merge × merge pooling of patches.
  int64_t tokens(int64_t merge) const { return patches() / (merge * merge); }
};

StatusOr<VideoGrid> predict_video_grid(const VideoInfo& info, int64_t sampled_frames,
                                       const std::optional<PreResizeOptions>& pre_resize,
                                       const PreprocessorConfig& config);

}  // namespace vamba::vision
