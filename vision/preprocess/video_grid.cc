#include "vision/preprocess/video_grid.h"

namespace vamba::vision {

StatusOr<VideoGrid> predict_video_grid(const VideoInfo& info, int64_t sampled_frames,
                                       const std::optional<PreResizeOptions>& pre_resize,
                                       const PreprocessorConfig& config) {
  const int tp = config.temporal_patch_size, patch = config.patch_size, merge = config.merge_size;
  if (tp <= 0 || patch <= 0 || merge <= 0) {
    return invalid_argument("preprocessor patch sizes must be positive");
  }
  if (info.width <= 0 || info.height <= 0) {
    return invalid_argument("the video has no frame size");
  }
  // The same steps the frames take: pre-resize, then smart_resize (process_video).
  ImageSize size{info.height, info.width};
  if (pre_resize) size = pre_resize_size(size, pre_resize->shortest, pre_resize->longest);
  if (config.do_resize) {
    VAMBA_ASSIGN_OR_RETURN(size,
                           smart_resize(size, patch * merge, config.min_pixels, config.max_pixels));
  }
  VideoGrid grid;
  grid.grid_t = sampled_frames / tp;
  grid.grid_h = size.height / patch;
  grid.grid_w = size.width / patch;
  return grid;
}

}  // namespace vamba::vision
