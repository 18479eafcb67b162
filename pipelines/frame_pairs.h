// Live frames -> the vision tower's input, one temporal group at a time. Frames arrive in order
// with their stream timestamps; this keeps one per 1/fps seconds (the first frame at or after each
// multiple k/fps), pre-resizes it at once (so full-size frames are never held), and when
// temporal_patch_size frames (2 for Qwen2-VL) are in hand runs the processor on them: one frame
// pair's patches (grid_t = 1), ready for the tower. The same resize and processor as whole videos
// (vision/preprocess), so a stream's pair equals the pair a file would give from the same frames.
#pragma once

#include <optional>
#include <vector>

#include "engine/model/config.h"
#include "vision/decode/video_frame.h"
#include "vision/preprocess/video_processor.h"

namespace vamba::pipelines {

struct FramePair {
  vision::VideoPatches patches;  // grid_t = 1
  double start = 0;              // timestamp of the first frame
  double end = 0;                // timestamp of the last frame + 1/fps (the time it stands for)
};

class FramePairSampler {
 public:
  FramePairSampler(double fps, vision::PreResizeOptions pre_resize, PreprocessorConfig config);

  // Frames with a timestamp before this are not wanted (FrameReader::next's not_before).
  double next_time() const { return next_time_; }
  // Offers the next frame; a frame before next_time() is ignored. Returns a group when this
  // frame completes one. A frame whose size differs from the ones held (the source changed its
  // resolution) starts a new group; the held frames are dropped.
  StatusOr<std::optional<FramePair>> add(vision::VideoFrame frame);

  double fps() const { return fps_; }
  int64_t frames_sampled() const { return frames_sampled_; }

 private:
  const double fps_;
  const vision::PreResizeOptions pre_resize_;
  const PreprocessorConfig config_;
  double next_time_ = 0;
  std::vector<vision::VideoFrame> held_;
  int64_t frames_sampled_ = 0;
};

}  // namespace vamba::pipelines
