// Frames -> the vision tower's input, as Vamba's reference prepares them: the loader's pre-resize
// (shortest / longest edge), then the Qwen2-VL image processor (temporal pairs, smart_resize,
// PIL bicubic, rescale 1/255, CLIP mean/std, patchify into pixel_values_videos rows).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/model/config.h"
#include "vision/decode/video_frame.h"
#include "vision/preprocess/resize.h"

namespace vamba::vision {

// Vamba's loader resizes every decoded frame before the processor sees it (the reference's
// img_shortest_edge / img_longest_edge; vamba-tiny's golden used 112 / 224).
struct PreResizeOptions {
  int shortest = 112;
  int longest = 224;
};

// Each frame resized with Pillow's bicubic to pre_resize_size(frame); index and timestamp kept.
StatusOr<std::vector<VideoFrame>> pre_resize_frames(const std::vector<VideoFrame>& frames,
                                                    const PreResizeOptions& options);

struct VideoPatches {
  // (grid_t * grid_h * grid_w, channels * temporal_patch * patch * patch) f32 on the CPU. Rows run
  // over time pair, merge-block row, merge-block column, row in block, column in block; columns
  // over channel, time in pair, patch row, patch column (the reference's transpose
  // (0, 3, 6, 4, 7, 2, 1, 5, 8)).
  Tensor pixel_values;
  int64_t grid_t = 0;              // temporal pairs
  int64_t grid_h = 0;              // patch rows (height / patch)
  int64_t grid_w = 0;              // patch columns
  ImageSize frame_size;            // after smart_resize
  std::vector<double> timestamps;  // of the frames used (an odd last frame is dropped)

  int64_t num_patches() const { return grid_t * grid_h * grid_w; }
};

// The Qwen2-VL processor on equally sized frames. An odd last frame is dropped, so frames pair up
// in time; fewer than temporal_patch_size frames is INVALID_ARGUMENT.
StatusOr<VideoPatches> process_video(const std::vector<VideoFrame>& frames,
                                     const PreprocessorConfig& config);

}  // namespace vamba::vision
