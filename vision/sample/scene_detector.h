// Scene-cut detection over decoded frames, for captioning a video scene by scene.
//
// Each sampled frame is reduced to a signature: a small grayscale thumbnail (area averages of
// BT.601 luma) and a luma histogram, both normalised to [0, 1]. Two consecutive signatures differ
// by the mean of (a) the thumbnails' mean absolute difference and (b) the histograms' total
// variation distance. (a) sees a change of layout, (b) a change of tones while staying blind to
// motion; their mean is high only when the picture changes as a whole, which is what a cut is.
// A cut is placed at the first sampled frame of the new scene, so its time is exact to one sampling
// interval.
//
// Everything here is a pure function of the frames: no decoding, no I/O.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "engine/core/status.h"
#include "vision/decode/video_frame.h"

namespace vamba::vision {

struct FrameSignature {
  double timestamp = 0;
  std::vector<float> thumbnail;  // thumb_size x thumb_size luma in [0, 1], row-major
  std::vector<float> histogram;  // luma histogram, sums to 1
};

struct SceneOptions {
  double threshold = 0.3;  // a difference above this is a cut; in (0, 1)
  int thumb_size = 32;     // thumbnail side in pixels
  int histogram_bins = 16;
};

// INVALID_ARGUMENT for an empty frame, a buffer that does not match width x height x 3, or
// options out of range.
StatusOr<FrameSignature> frame_signature(const VideoFrame& frame, const SceneOptions& options = {});

// The difference of two signatures made with the same options, in [0, 1].
double signature_difference(const FrameSignature& a, const FrameSignature& b);

struct SceneCut {
  double time = 0;   // timestamp of the first sampled frame of the new scene
  double score = 0;  // its difference from the previous sample
};

// Cuts between consecutive signatures (in time order) whose difference exceeds options.threshold.
std::vector<SceneCut> detect_scene_cuts(const std::vector<FrameSignature>& signatures,
                                        const SceneOptions& options = {});
// The same over decoded frames (signatures made on the way).
StatusOr<std::vector<SceneCut>> detect_scene_cuts(const std::vector<VideoFrame>& frames,
                                                  const SceneOptions& options = {});

struct SceneSegment {
  double start = 0, end = 0;
  double score = 0;  // of the cut that starts it; 0 for the first segment and for splits
};

// Segments of [begin, end) cut at `cuts` (ascending): a cut less than min_length after the previous
// kept cut (or than min_length before `end`) is dropped, and a segment longer than max_length
// (> 0) is split into equal parts no longer than it. INVALID_ARGUMENT when end <= begin or the
// lengths are negative or max_length < min_length.
StatusOr<std::vector<SceneSegment>> scene_segments(const std::vector<SceneCut>& cuts, double begin,
                                                   double end, double min_length,
                                                   double max_length);

}  // namespace vamba::vision
