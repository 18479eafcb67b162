#include "pipelines/frame_pairs.h"

#include "vision/decode/frame_reader.h"

#include <algorithm>
#include <cmath>

namespace vamba::pipelines {

FramePairSampler::FramePairSampler(double fps, vision::PreResizeOptions pre_resize,
                                   PreprocessorConfig config)
    : fps_(fps > 0 ? fps : 1.0), pre_resize_(pre_resize), config_(std::move(config)) {}

StatusOr<std::optional<FramePair>> FramePairSampler::add(vision::VideoFrame frame) {
  if (frame.timestamp < next_time_ - vision::kTimestampSlackSeconds) {
    return std::optional<FramePair>();
  }
  // The next sample time: the first multiple of 1/fps after this frame (a gap in the source skips
  // the sample times it covered rather than bunching frames up).
  next_time_ = (std::floor(frame.timestamp * fps_ + vision::kTimestampSlackSeconds) + 1) / fps_;
  ++frames_sampled_;
  std::vector<vision::VideoFrame> one;
  one.push_back(std::move(frame));
  VAMBA_ASSIGN_OR_RETURN(std::vector<vision::VideoFrame> resized,
                         vision::pre_resize_frames(one, pre_resize_));
  vision::VideoFrame small = std::move(resized[0]);
  if (!held_.empty() &&
      (held_.front().width != small.width || held_.front().height != small.height)) {
    held_.clear();
  }
  held_.push_back(std::move(small));
  const size_t group = static_cast<size_t>(std::max<int64_t>(config_.temporal_patch_size, 1));
  if (held_.size() < group) return std::optional<FramePair>();
  FramePair pair;
  VAMBA_ASSIGN_OR_RETURN(pair.patches, vision::process_video(held_, config_));
  pair.start = held_.front().timestamp;
  pair.end = held_.back().timestamp + 1.0 / fps_;
  held_.clear();
  return std::optional<FramePair>(std::move(pair));
}

}  // namespace vamba::pipelines
