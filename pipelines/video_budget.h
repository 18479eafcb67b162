// A video's memory, decided once its container is open and before any frame is decoded: the token
// count follows from the display size, the pre-resize, the processor's smart_resize and the sample
// count (vision/preprocess/video_grid.h); the plan (engine/state/memory_plan.h) adds the K/V that
// grows with those tokens to one LM chunk and one tower batch. A video that cannot fit is refused
// here with RESOURCE_EXHAUSTED — the service answers that code, the CLI prints the message — rather
// than running out of memory an hour of video later. Tower batches asked for as "auto" are sized
// from the memory the K/V and the LM chunk leave.
#pragma once

#include <cstdint>

#include "engine/core/device.h"
#include "engine/model/config.h"
#include "engine/state/memory_plan.h"
#include "pipelines/video_qa.h"
#include "vision/decode/video_frame.h"
#include "vision/preprocess/video_grid.h"

namespace vamba::pipelines {

struct VideoBudget {
  vision::VideoGrid grid;  // predicted before decoding
  int64_t video_tokens = 0;
  VideoMemoryPlan plan;
  int64_t available_bytes = 0;
  // Patches per tower batch (whole frame pairs): options.vision.max_patches_per_batch when
  // positive, else sized to memory (auto).
  int64_t tower_patches_per_batch = 0;
};

// The budget for a video described by `info` with `sampled_frames` frames sampled, encoded with
// `options` on `device` by a model of `config`/`preprocessor`. RESOURCE_EXHAUSTED when the plan
// does not fit in the device's free memory less the reserve, or in options.memory_limit_bytes.
StatusOr<VideoBudget> plan_video_budget(const VambaConfig& config,
                                        const PreprocessorConfig& preprocessor, Device device,
                                        const vision::VideoInfo& info, int64_t sampled_frames,
                                        const VideoEncodeOptions& options);

}  // namespace vamba::pipelines
