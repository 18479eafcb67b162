#include "pipelines/batch_caption.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

#include "pipelines/bounded_queue.h"
#include "vision/preprocess/video_input.h"

namespace vamba::pipelines {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}
// Times in the records are rounded to the millisecond: enough for anyone, short lines.
double ms_round(double s) { return std::round(s * 1000.0) / 1000.0; }

// One segment, decoded and preprocessed by the prefetch thread.
struct SegmentWork {
  size_t video = 0;
  size_t segment = 0;
  size_t segments = 0;
  double start = 0, end = 0, duration = 0;
  vision::VideoPatches patches;
  double decode_s = 0;  // open + decode + preprocess, on the prefetch thread
  Status error;         // the video failed here; none of its later segments follow
};

// The sampler settings for one segment: the segment's time range, and at least the two frames
// one temporal pair needs (a short segment at a low --fps could otherwise sample one).
StatusOr<vision::SamplingOptions> segment_sampling(const vision::SamplingOptions& base,
                                                   const vision::VideoInfo& info, double t0,
                                                   double t1, int64_t min_frames) {
  vision::SamplingOptions s = base;
  s.start = t0;
  s.end = t1;
  if (s.mode == vision::SampleMode::kUniform) {
    s.num_frames = std::max(s.num_frames, min_frames);
    return s;
  }
  auto samples = vision::sample_frames(info.frame_count, info.fps, s);
  if (!samples.ok() || static_cast<int64_t>(samples->size()) < min_frames) {
    s.mode = vision::SampleMode::kUniform;
    s.num_frames = min_frames;
  }
  return s;
}

// The prefetch thread: every segment of every video, in order, into `queue`.
void prefetch(const std::vector<std::string>& paths, const BatchCaptionOptions& options,
              const PreprocessorConfig& config, BoundedQueue<SegmentWork>* queue) {
  const int64_t min_frames = std::max<int64_t>(config.temporal_patch_size, 1);
  for (size_t v = 0; v < paths.size(); ++v) {
    auto t0 = Clock::now();
    auto fail = [&](Status error, double duration) {
      SegmentWork w;
      w.video = v;
      w.duration = duration;
      w.decode_s = seconds_since(t0);
      w.error = std::move(error);
      return queue->push(std::move(w));
    };
    auto decoder = vision::VideoDecoder::open(paths[v], options.decode);
    if (!decoder.ok()) {
      if (!fail(decoder.status(), 0)) return;
      continue;
    }
    const vision::VideoInfo& info = (*decoder)->info();
    double duration = info.duration;
    if (!(duration > 0) && info.fps > 0) duration = info.frame_count / info.fps;
    if (!(duration > 0) || info.frame_count <= 0) {
      if (!fail(invalid_argument("the video has no known duration or frame count"), 0)) return;
      continue;
    }
    const auto segments = fixed_caption_segments(duration, options.segment_s);
    for (size_t k = 0; k < segments.size(); ++k) {
      const auto [s0, s1] = segments[k];
      const std::string where = "segment " + std::to_string(k) + " (" + std::to_string(s0) + " - " +
                                std::to_string(s1) + " s)";
      vision::VideoInputOptions input_options;
      input_options.pre_resize = options.pre_resize;
      auto sampling = segment_sampling(options.sampling, info, s0, s1, min_frames);
      StatusOr<vision::VideoInput> input = sampling.status();
      if (sampling.ok()) {
        input_options.sampling = *sampling;
        input = vision::load_video_input(**decoder, input_options, config);
      }
      if (!input.ok()) {
        if (!fail(input.status().with_context(where), duration)) return;
        break;
      }
      SegmentWork w;
      w.video = v;
      w.segment = k;
      w.segments = segments.size();
      w.start = s0;
      w.end = s1;
      w.duration = duration;
      w.patches = std::move(input->patches);
      w.decode_s = seconds_since(t0);
      if (!queue->push(std::move(w))) return;  // the consumer stopped
      t0 = Clock::now();
    }
  }
}

// What the consumer gathers for the video it is working on.
struct VideoRecord {
  size_t video = 0;
  bool active = false;
  nlohmann::json segments = nlohmann::json::array();
  double duration = 0;
  double decode_s = 0, vision_s = 0, prefill_s = 0, generate_s = 0;
  int64_t frames = 0;
  Clock::time_point started;
};

}  // namespace

std::vector<std::pair<double, double>> fixed_caption_segments(double duration, double length) {
  std::vector<std::pair<double, double>> out;
  if (!(duration > 0)) return out;
  if (!(length > 0)) length = duration;
  for (int64_t k = 0;; ++k) {
    // Multiples of the length, so boundaries do not drift with rounding.
    const double t0 = static_cast<double>(k) * length;
    if (t0 >= duration - 1e-6) break;
    out.emplace_back(t0, std::min(duration, t0 + length));
  }
  const double min_tail = std::min(1.0, length / 2);
  if (out.size() >= 2 && out.back().second - out.back().first < min_tail) {
    out[out.size() - 2].second = out.back().second;
    out.pop_back();
  }
  return out;
}

Status caption_videos(VideoQa& qa, const std::vector<std::string>& paths,
                      const BatchCaptionOptions& options, const CaptionRecordFn& on_record) {
  if (!(options.segment_s > 0)) return invalid_argument("the segment length must be positive");
  if (options.prompt.empty()) return invalid_argument("the caption prompt is empty");
  BoundedQueue<SegmentWork> queue(options.prefetch_segments);
  const PreprocessorConfig config = qa.checkpoint().preprocessor;
  std::thread producer([&] {
    prefetch(paths, options, config, &queue);
    queue.close();  // the consumer drains what is left, then stops
  });

  VideoRecord cur;
  size_t skip_video = paths.size();  // a video whose model work failed: drop its other segments
  auto emit_error = [&](size_t video, const Status& error, double duration) {
    nlohmann::json record = {{"path", paths[video]}, {"error", error.to_string()}};
    if (duration > 0) record["duration"] = ms_round(duration);
    on_record(record, /*failed=*/true, duration);
    cur.active = false;
  };

  while (std::optional<SegmentWork> item = queue.pop()) {
    if (item->video == skip_video) continue;
    if (!cur.active || cur.video != item->video) {
      cur = VideoRecord{};
      cur.video = item->video;
      cur.active = true;
      cur.duration = item->duration;
      cur.started = Clock::now();
    }
    cur.decode_s += item->decode_s;
    if (!item->error.ok()) {
      emit_error(item->video, item->error, item->duration);
      continue;
    }
    // Model work: tower, a fresh video state with the segment's tokens, then the caption.
    auto t0 = Clock::now();
    Answer answer;
    int64_t video_tokens = 0;
    Status st = [&]() -> Status {
      VAMBA_ASSIGN_OR_RETURN(Tensor embeds, qa.encode_vision(item->patches, options.vision));
      cur.vision_s += seconds_since(t0);
      t0 = Clock::now();
      video_tokens = embeds.dim(0);
      EncodedVideo encoded;
      VAMBA_ASSIGN_OR_RETURN(encoded.state, qa.new_video_state(video_tokens));
      VAMBA_RETURN_IF_ERROR(qa.append_video(embeds, &encoded.state, options.lm));
      cur.prefill_s += seconds_since(t0);
      t0 = Clock::now();
      VAMBA_ASSIGN_OR_RETURN(answer, qa.ask(encoded, options.prompt, options.ask));
      cur.generate_s += seconds_since(t0);
      return ok_status();
    }();
    if (!st.ok()) {
      spdlog::warn("{}: segment {} failed: {}", paths[item->video], item->segment, st.to_string());
      emit_error(item->video,
                 st.with_context("segment " + std::to_string(item->segment) + " (model)"),
                 item->duration);
      skip_video = item->video;
      continue;
    }
    const int64_t frames = item->patches.grid_t * qa.checkpoint().preprocessor.temporal_patch_size;
    cur.frames += frames;
    cur.segments.push_back({{"start", ms_round(item->start)},
                            {"end", ms_round(item->end)},
                            {"caption", answer.text},
                            {"frames", frames},
                            {"video_tokens", video_tokens},
                            {"finish_reason", answer.finish_reason}});
    if (item->segment + 1 == item->segments) {
      nlohmann::json record = {{"path", paths[item->video]},
                               {"duration", ms_round(cur.duration)},
                               {"segments", std::move(cur.segments)},
                               {"frames", cur.frames},
                               {"timings",
                                {{"decode_s", ms_round(cur.decode_s)},
                                 {"vision_s", ms_round(cur.vision_s)},
                                 {"video_prefill_s", ms_round(cur.prefill_s)},
                                 {"generate_s", ms_round(cur.generate_s)},
                                 {"wall_s", ms_round(seconds_since(cur.started))}}}};
      on_record(record, /*failed=*/false, cur.duration);
      cur.active = false;
    }
  }
  queue.close();
  producer.join();
  return ok_status();
}

}  // namespace vamba::pipelines
