#include "service/convert.h"

#include <cmath>
#include <string>

namespace vamba::service {

StatusOr<pipelines::VideoEncodeOptions> to_encode_options(const v1::Sampling& s,
                                                          const RequestLimits& limits) {
  pipelines::VideoEncodeOptions o;
  if (s.frames() < 0) return invalid_argument("sampling.frames must be >= 0");
  if (!std::isfinite(s.fps()) || s.fps() < 0) return invalid_argument("sampling.fps must be >= 0");
  if (s.frames() > 0 && s.fps() > 0) {
    return invalid_argument("set sampling.frames or sampling.fps, not both");
  }
  if (s.max_frames() < 0) return invalid_argument("sampling.max_frames must be >= 0");
  if (s.frames() > limits.max_frames) {
    return invalid_argument("sampling.frames " + std::to_string(s.frames()) +
                            " is more than this server allows (" +
                            std::to_string(limits.max_frames) + ")");
  }
  if (!std::isfinite(s.start_s()) || s.start_s() < 0) {
    return invalid_argument("sampling.start_s must be >= 0");
  }
  if (!std::isfinite(s.end_s()) || s.end_s() < 0) {
    return invalid_argument("sampling.end_s must be >= 0 (0: the end of the video)");
  }
  if (s.end_s() > 0 && s.end_s() <= s.start_s()) {
    return invalid_argument("sampling.end_s must be after sampling.start_s");
  }
  if (s.shortest_edge() < 0 || s.longest_edge() < 0 || s.shortest_edge() > 8192 ||
      s.longest_edge() > 8192) {
    return invalid_argument("sampling.shortest_edge / longest_edge must be in [0, 8192]");
  }
  if (s.fps() > 0) {
    o.sampling.mode = vision::SampleMode::kFps;
    o.sampling.sample_fps = s.fps();
    // The server's frame cap applies to fps sampling too.
    o.sampling.max_frames =
        s.max_frames() > 0 ? std::min(s.max_frames(), limits.max_frames) : limits.max_frames;
  } else {
    o.sampling.mode = vision::SampleMode::kUniform;
    o.sampling.num_frames = s.frames() > 0 ? s.frames() : limits.default_frames;
  }
  o.sampling.start = s.start_s();
  if (s.end_s() > 0) o.sampling.end = s.end_s();
  if (s.shortest_edge() > 0) o.pre_resize.shortest = s.shortest_edge();
  if (s.longest_edge() > 0) o.pre_resize.longest = s.longest_edge();
  o.kv_store = limits.kv_store;
  o.memory_limit_bytes = limits.video_memory_mb * (int64_t{1} << 20);
  return o;
}

StatusOr<pipelines::AskOptions> to_ask_options(const v1::GenerationOptions& g,
                                               const RequestLimits& limits) {
  pipelines::AskOptions o;
  if (g.max_tokens() < 0) return invalid_argument("generation.max_tokens must be >= 0");
  if (g.max_tokens() > limits.max_tokens) {
    return invalid_argument("generation.max_tokens " + std::to_string(g.max_tokens()) +
                            " is more than this server allows (" +
                            std::to_string(limits.max_tokens) + ")");
  }
  o.max_new_tokens = g.max_tokens() > 0 ? g.max_tokens() : limits.default_max_tokens;
  if (!std::isfinite(g.temperature()) || g.temperature() < 0) {
    return invalid_argument("generation.temperature must be >= 0");
  }
  o.temperature = g.temperature();
  if (!std::isfinite(g.top_p()) || g.top_p() < 0 || g.top_p() > 1) {
    return invalid_argument("generation.top_p must be in [0, 1] (0: off)");
  }
  o.top_p = g.top_p() > 0 ? g.top_p() : 1.0f;
  if (g.top_k() < 0) return invalid_argument("generation.top_k must be >= 0");
  o.top_k = g.top_k();
  o.seed = g.seed();
  if (g.stop_size() > 16) return invalid_argument("generation.stop: at most 16 stop strings");
  for (const auto& stop : g.stop()) {
    if (stop.empty() || stop.size() > 256) {
      return invalid_argument("generation.stop strings must be 1..256 bytes");
    }
    o.stop_strings.push_back(stop);
  }
  if (!g.system_prompt().empty()) {
    if (g.system_prompt().size() > limits.max_question_bytes) {
      return invalid_argument("generation.system_prompt is longer than " +
                              std::to_string(limits.max_question_bytes) + " bytes");
    }
    o.system_prompt = g.system_prompt();
  }
  return o;
}

StatusOr<SegmentationOptions> to_segmentation_options(const v1::CaptionRequest& request) {
  SegmentationOptions o;
  switch (request.segmentation()) {
    case v1::SEGMENTATION_UNSPECIFIED:
    case v1::SEGMENTATION_FIXED:
      if (!(request.segment_s() > 0) || request.segment_s() > 24 * 3600) {
        return invalid_argument("segment_s must be in (0, 86400] seconds");
      }
      o.segment_s = request.segment_s();
      return o;
    case v1::SEGMENTATION_SCENE:
      break;
    default:
      return invalid_argument("segmentation " + std::to_string(request.segmentation()) +
                              " is not one this server knows (FIXED or SCENE)");
  }
  o.scene = true;
  const v1::SceneOptions& scene = request.scene();
  if (!std::isfinite(scene.threshold()) || scene.threshold() < 0 || scene.threshold() >= 1) {
    return invalid_argument("scene.threshold must be in [0, 1) (0: the default)");
  }
  if (scene.threshold() > 0) o.detector.threshold = scene.threshold();
  if (!std::isfinite(scene.sample_fps()) || scene.sample_fps() < 0 || scene.sample_fps() > 60) {
    return invalid_argument("scene.sample_fps must be in [0, 60] (0: the default)");
  }
  if (scene.sample_fps() > 0) o.sample_fps = scene.sample_fps();
  if (!std::isfinite(scene.min_segment_s()) || scene.min_segment_s() < 0) {
    return invalid_argument("scene.min_segment_s must be >= 0 (0: the default)");
  }
  if (scene.min_segment_s() > 0) o.min_segment_s = scene.min_segment_s();
  if (!std::isfinite(scene.max_segment_s()) || scene.max_segment_s() < 0) {
    return invalid_argument("scene.max_segment_s must be >= 0 (0: no limit)");
  }
  o.max_segment_s = scene.max_segment_s();
  if (o.max_segment_s > 0 && o.max_segment_s < o.min_segment_s) {
    return invalid_argument("scene.max_segment_s must be at least scene.min_segment_s (" +
                            std::to_string(o.min_segment_s) + " s)");
  }
  return o;
}

Status check_question(const std::string& question, const RequestLimits& limits) {
  if (question.empty()) return invalid_argument("question is empty");
  if (question.size() > limits.max_question_bytes) {
    return invalid_argument("question is longer than " + std::to_string(limits.max_question_bytes) +
                            " bytes");
  }
  return ok_status();
}

Status check_source(const v1::VideoSource& source) {
  switch (source.source_case()) {
    case v1::VideoSource::kUri:
      if (source.uri().empty()) return invalid_argument("video.uri is empty");
      return ok_status();
    case v1::VideoSource::kData:
      if (source.data().empty()) return invalid_argument("video.data is empty");
      return ok_status();
    case v1::VideoSource::kVideoId:
      if (source.video_id().empty()) return invalid_argument("video.video_id is empty");
      return ok_status();
    case v1::VideoSource::SOURCE_NOT_SET:
      break;
  }
  return invalid_argument("video: set one of uri, data or video_id");
}

void fill_encode_timings(const pipelines::EncodeTimings& t, v1::Timings* out) {
  out->set_decode_s(t.decode_s);
  out->set_preprocess_s(t.preprocess_s);
  out->set_vision_s(t.vision_s);
  out->set_video_prefill_s(t.video_lm_s);
}

}  // namespace vamba::service
