// Which frames of a video the model sees. The samplers reproduce Vamba's reference
// (get_frame_indices) exactly, numpy's floating-point arithmetic included, because a different
// frame changes every number downstream.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "engine/core/status.h"

namespace vamba::vision {

// sample="middle": split [0, vlen) into min(n, vlen) ranges at numpy.linspace(0, vlen, k + 1)
// truncated to int, take the middle of each range ((lo + hi) // 2 with hi inclusive), and pad with
// the last index up to n when vlen < n. Empty when vlen <= 0 or n <= 0.
std::vector<int64_t> uniform_indices(int64_t vlen, int64_t n);

// sample="fps<sample_fps>": times numpy.arange(d / 2, duration + d / 2, d) with d = 1 / sample_fps
// and duration = vlen / video_fps, index = numpy.around(t * video_fps) (half to even), indices
// >= vlen dropped, then the first max_frames kept (max_frames <= 0: all).
std::vector<int64_t> fps_indices(int64_t vlen, double video_fps, double sample_fps,
                                 int64_t max_frames);

struct FrameSample {
  int64_t index = 0;       // frame number in the whole video
  double timestamp = 0.0;  // index / fps, seconds
};

enum class SampleMode { kUniform, kFps };

struct SamplingOptions {
  SampleMode mode = SampleMode::kUniform;
  int64_t num_frames = 8;   // kUniform: frames wanted
  double sample_fps = 1.0;  // kFps: frames per second wanted
  int64_t max_frames = 0;   // kFps: cap (<= 0: none)
  // Only frames whose time index / fps lies in [start, end) are sampled; the samplers then run on
  // that clip as if it were the whole video, and its indices are shifted back.
  double start = 0.0;
  double end = std::numeric_limits<double>::infinity();
};

// The sampled frames of a video with `frame_count` frames at `fps`, ascending (uniform padding
// repeats the last). INVALID_ARGUMENT for a non-positive count, rate or frame number, or an empty
// range.
StatusOr<std::vector<FrameSample>> sample_frames(int64_t frame_count, double fps,
                                                 const SamplingOptions& options);

}  // namespace vamba::vision
