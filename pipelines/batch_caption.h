// Batch captioning: many videos, each cut into fixed-length segments, each segment captioned by
// the model from the frames sampled inside it (a fresh video state per segment, as the Caption RPC
// does), one JSON record per video.
//
// Two threads: a prefetch thread opens, decodes, samples and preprocesses the next segments (of
// this video and the next ones) while the calling thread runs the model (vision tower, video
// prefill, the caption). They meet in a bounded queue of preprocessed segments, so decoding
// overlaps model work while memory stays at `prefetch_segments` segments' pixels however long the
// videos are.
//
// A video that cannot be opened or decoded, or whose model work fails, gets an error record; the
// run goes on with the next video.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "pipelines/video_qa.h"

namespace vamba::pipelines {

inline constexpr const char* kDefaultCaptionPrompt =
    "Describe what happens in this part of the video.";

struct BatchCaptionOptions {
  double segment_s = 30;  // the last segment may be shorter (a tail under 1 s joins the one before)
  std::string prompt = kDefaultCaptionPrompt;
  // Per segment: `num_frames` uniformly, or `sample_fps` (at least 2 frames per segment either
  // way).
  vision::SamplingOptions sampling{vision::SampleMode::kUniform, 32};
  vision::PreResizeOptions pre_resize{256, 480};
  vision::DecodeOptions decode;
  vision::VisionEncodeOptions vision;
  VideoOptions lm;
  AskOptions ask;
  size_t prefetch_segments = 4;  // preprocessed segments waiting for the model, at most
};

// Called on the calling thread once per video, in input order: the record to write
// ({"path", "duration", "segments": [{"start", "end", "caption", ...}], "timings"} or
// {"path", "error"}), whether it is an error, and the seconds of video it covers.
using CaptionRecordFn =
    std::function<void(const nlohmann::json& record, bool failed, double video_seconds)>;

// Captions `paths` in order. Returns OK after every video has its record (per-video failures are
// records, not errors); an error only if the run itself cannot go on.
Status caption_videos(VideoQa& qa, const std::vector<std::string>& paths,
                      const BatchCaptionOptions& options, const CaptionRecordFn& on_record);

// The fixed segments of [0, duration): multiples of `length`, a last piece shorter than
// min(1 s, length / 2) merged into the one before.
std::vector<std::pair<double, double>> fixed_caption_segments(double duration, double length);

}  // namespace vamba::pipelines
