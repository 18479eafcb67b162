// The video input path in one call: sample frame indices, decode them, pre-resize each as it
// arrives (so full-size frames are never all held at once), then run the processor. This is how
// the reference turns a video file into pixel_values_videos.
#pragma once

#include <optional>
#include <vector>

#include "engine/model/config.h"
#include "vision/decode/video_decoder.h"
#include "vision/preprocess/video_processor.h"
#include "vision/sample/frame_sampler.h"

namespace vamba::vision {

struct VideoInputOptions {
  SamplingOptions sampling;
  // Vamba's loader resize before the processor; nullopt hands full-size frames to the processor.
  std::optional<PreResizeOptions> pre_resize = PreResizeOptions{};
  // Keep the (pre-resized) frames in VideoInput::frames, e.g. to write them out; otherwise they
  // are freed once the processor has run.
  bool keep_frames = false;
};

struct VideoInput {
  VideoInfo info;
  std::vector<FrameSample> samples;  // what the sampler chose (all of them, before pairing)
  VideoPatches patches;              // the processor's output (an odd last frame dropped)
  std::vector<VideoFrame> frames;  // with keep_frames: every sampled frame as the processor got it
};

StatusOr<VideoInput> load_video_input(VideoDecoder& decoder, const VideoInputOptions& options,
                                      const PreprocessorConfig& config);

}  // namespace vamba::vision
