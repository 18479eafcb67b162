// Requests of the vamba.v1 API -> pipeline options, with every check that can be made before the
// video is opened. Each refusal is INVALID_ARGUMENT and names the field and the allowed range.
#pragma once

#include "engine/core/status.h"
#include "pipelines/video_qa.h"
#include "service/caption_plan.h"
#include "vamba/v1/vamba.pb.h"

namespace vamba::service {

// The server's per-request limits (flags of `vamba serve`).
struct RequestLimits {
  int64_t default_frames = 512;      // Vamba's evaluation default
  int64_t max_frames = 1024;         // frames one request may sample
  int64_t default_max_tokens = 512;  // answer length when the request gives none
  int64_t max_tokens = 8192;         // the largest answer length a request may ask for
  size_t max_question_bytes = 64 << 10;
  // How videos' cross-attention K/V is stored, and the device memory one video may take (MiB,
  // 0: what the device has free); a video over it is RESOURCE_EXHAUSTED before decoding.
  KvStore kv_store = KvStore::kActivation;
  int64_t video_memory_mb = 0;
};

StatusOr<pipelines::VideoEncodeOptions> to_encode_options(const v1::Sampling& sampling,
                                                          const RequestLimits& limits);
StatusOr<pipelines::AskOptions> to_ask_options(const v1::GenerationOptions& generation,
                                               const RequestLimits& limits);
// CaptionRequest.segmentation / segment_s / scene -> how Caption cuts the video, defaults filled.
StatusOr<SegmentationOptions> to_segmentation_options(const v1::CaptionRequest& request);
Status check_question(const std::string& question, const RequestLimits& limits);
// INVALID_ARGUMENT when no source is set (or an empty uri / id / data).
Status check_source(const v1::VideoSource& source);

void fill_encode_timings(const pipelines::EncodeTimings& t, v1::Timings* out);

}  // namespace vamba::service
