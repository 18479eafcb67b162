#include "service/caption_plan.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "vision/decode/video_decoder.h"
#include "vision/sample/frame_sampler.h"

namespace vamba::service {
namespace {

std::vector<vision::SceneSegment> fixed_segments(double begin, double end, double length) {
  std::vector<vision::SceneSegment> out;
  for (int64_t k = 0;; ++k) {
    // Multiples of the length from the start, so boundaries do not drift with rounding.
    const double t0 = begin + static_cast<double>(k) * length;
    if (t0 >= end - 1e-6) break;
    out.push_back({t0, std::min(end, t0 + length), 0.0});
  }
  return out;
}

StatusOr<std::vector<vision::SceneSegment>> detect_scenes(vision::VideoDecoder& decoder,
                                                          double begin, double end,
                                                          const SegmentationOptions& o,
                                                          const std::atomic<bool>& cancel,
                                                          int64_t* frames_decoded) {
  const vision::VideoInfo& info = decoder.info();
  vision::SamplingOptions sampling;
  sampling.mode = vision::SampleMode::kFps;
  sampling.sample_fps =
      std::min(o.sample_fps, static_cast<double>(kMaxSceneSamples) / (end - begin));
  sampling.start = begin;
  sampling.end = end;
  VAMBA_ASSIGN_OR_RETURN(std::vector<vision::FrameSample> samples,
                         vision::sample_frames(info.frame_count, info.fps, sampling));
  std::vector<int64_t> indices;
  indices.reserve(samples.size());
  for (const auto& s : samples) indices.push_back(s.index);
  // Each frame is reduced to its signature as it arrives; full frames are never all held.
  std::vector<vision::FrameSignature> signatures(indices.size());
  VAMBA_RETURN_IF_ERROR(
      decoder.visit_indices(indices, [&](size_t position, vision::VideoFrame&& frame) -> Status {
        if (cancel.load()) return cancelled("cancelled during scene detection");
        VAMBA_ASSIGN_OR_RETURN(signatures[position], vision::frame_signature(frame, o.detector));
        ++*frames_decoded;
        return ok_status();
      }));
  const std::vector<vision::SceneCut> cuts = vision::detect_scene_cuts(signatures, o.detector);
  return vision::scene_segments(cuts, begin, end, o.min_segment_s, o.max_segment_s);
}

}  // namespace

StatusOr<CaptionPlan> plan_caption(const pipelines::VideoInput& input, double start, double end,
                                   const SegmentationOptions& options,
                                   const std::shared_ptr<std::atomic<bool>>& cancel) {
  vision::DecodeOptions decode;
  decode.cancel = cancel;
  std::unique_ptr<vision::VideoDecoder> decoder;
  if (input.bytes) {
    VAMBA_ASSIGN_OR_RETURN(decoder, vision::VideoDecoder::open_memory(input.bytes, decode));
  } else {
    VAMBA_ASSIGN_OR_RETURN(decoder, vision::VideoDecoder::open(input.source, decode));
  }
  const vision::VideoInfo& info = decoder->info();
  CaptionPlan plan;
  plan.duration = info.duration;
  if (plan.duration <= 0 && info.fps > 0) plan.duration = info.frame_count / info.fps;
  if (!(plan.duration > 0)) return invalid_argument("the video has no known duration");
  const double stop = std::min(plan.duration, end);
  if (!(stop > start)) {
    return invalid_argument("sampling.start_s is past the end of the video (" +
                            std::to_string(plan.duration) + " s)");
  }
  if (!options.scene) {
    plan.segments = fixed_segments(start, stop, options.segment_s);
    return plan;
  }
  static const std::atomic<bool> never{false};
  VAMBA_ASSIGN_OR_RETURN(plan.segments,
                         detect_scenes(*decoder, start, stop, options, cancel ? *cancel : never,
                                       &plan.frames_decoded));
  return plan;
}

}  // namespace vamba::service
