// Where Caption cuts a video: fixed-length segments, or segments between scene cuts found on
// low-resolution frames sampled over the captioned range (vision/sample/scene_detector.h). Runs on
// the worker thread: it opens (and for scenes, decodes) the video.
#pragma once

#include <atomic>
#include <limits>
#include <memory>
#include <vector>

#include "engine/core/status.h"
#include "pipelines/video_qa.h"
#include "vision/sample/scene_detector.h"

namespace vamba::service {

struct SegmentationOptions {
  bool scene = false;
  double segment_s = 10;  // fixed mode
  // scene mode:
  vision::SceneOptions detector;
  double sample_fps = 2;
  double min_segment_s = 1;
  double max_segment_s = 0;  // 0: no limit
};

struct CaptionPlan {
  double duration = 0;  // of the whole video
  std::vector<vision::SceneSegment> segments;
  int64_t frames_decoded = 0;  // for the scene detection
};

// The detection looks at no more frames than this; a longer video is sampled more sparsely.
inline constexpr int64_t kMaxSceneSamples = 10000;

// Segments of [start, min(end, duration)). INVALID_ARGUMENT when start is past the end of the
// video; decode errors as the decoder reports them; CANCELLED when `cancel` is set meanwhile.
StatusOr<CaptionPlan> plan_caption(const pipelines::VideoInput& input, double start, double end,
                                   const SegmentationOptions& options,
                                   const std::shared_ptr<std::atomic<bool>>& cancel);

}  // namespace vamba::service
