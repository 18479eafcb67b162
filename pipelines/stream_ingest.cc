#include "pipelines/stream_ingest.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "engine/state/video_window.h"
#include "pipelines/batch_caption.h"

namespace vamba::pipelines {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", s);
  return buf;
}

void replace_all(std::string* s, const std::string& from, const std::string& to) {
  for (size_t at = s->find(from); at != std::string::npos; at = s->find(from, at + to.size())) {
    s->replace(at, from.size(), to);
  }
}

}  // namespace

StatusOr<std::unique_ptr<StreamIngest>> StreamIngest::create(VideoQa* qa,
                                                             StreamIngestOptions options,
                                                             StreamSink sink) {
  if (qa == nullptr) return invalid_argument("stream ingest: no model");
  if (!(options.caption_every_s >= 0) || !(options.ask_every_s >= 0)) {
    return invalid_argument("caption and question intervals must be >= 0");
  }
  if (options.window_tokens < 0) return invalid_argument("the window must be >= 0 tokens");
  for (const auto& q : options.questions) {
    if (q.empty()) return invalid_argument("a standing question is empty");
  }
  std::unique_ptr<StreamIngest> s(new StreamIngest(qa, std::move(options), std::move(sink)));
  VAMBA_ASSIGN_OR_RETURN(s->stream_.state, qa->new_video_state(s->options_.window_tokens));
  if (s->options_.caption_every_s > 0 && s->options_.caption_context == CaptionContext::kSegment) {
    VAMBA_ASSIGN_OR_RETURN(s->segment_.state, qa->new_video_state());
  }
  s->next_ask_ = s->options_.ask_every_s;
  return s;
}

std::string StreamIngest::caption_prompt(double start, double end) const {
  std::string prompt = options_.caption_prompt;
  if (prompt.empty()) {
    prompt = options_.caption_context == CaptionContext::kSegment ? kDefaultCaptionPrompt
                                                                  : kDefaultStreamCaptionPrompt;
  }
  replace_all(&prompt, "{start}", seconds_text(start));
  replace_all(&prompt, "{end}", seconds_text(end));
  replace_all(&prompt, "{now}", seconds_text(stats_.ingested_until));
  return prompt;
}

Status StreamIngest::make_room(int64_t incoming) {
  const int64_t window = options_.window_tokens;
  if (window <= 0) return ok_status();
  if (incoming > window) {
    return invalid_argument("--window-tokens " + std::to_string(window) +
                            " is smaller than one frame pair (" + std::to_string(incoming) +
                            " video tokens)");
  }
  const int64_t held = video_tokens_held(stream_.state);
  if (held + incoming <= window) return ok_status();
  // Down to 3/4 of the window (whole pairs), so the compaction is rare.
  const int64_t target = window - window / 4;
  int64_t drop = 0;
  while (!pair_tokens_.empty() && held - drop + incoming > std::max(target, incoming)) {
    drop += pair_tokens_.front();
    pair_tokens_.pop_front();
  }
  VAMBA_RETURN_IF_ERROR(qa_->drop_oldest_video_tokens(&stream_.state, drop));
  stats_.tokens_dropped += drop;
  return ok_status();
}

Status StreamIngest::add_pair(const FramePair& pair) {
  const double every = options_.caption_every_s;
  if (every > 0 && seg_pairs_ > 0 && pair.start >= seg_end_ - 1e-9) {
    VAMBA_RETURN_IF_ERROR(caption_segment());
  }
  if (every > 0 && seg_pairs_ == 0) {
    // Segments sit on the grid of multiples of caption_every_s; a gap skips empty ones.
    const double k = std::floor(pair.start / every + 1e-9);
    seg_start_ = k * every;
    seg_end_ = (k + 1) * every;
  }

  auto t0 = Clock::now();
  VAMBA_ASSIGN_OR_RETURN(Tensor embeds, qa_->encode_vision(pair.patches, options_.vision));
  stats_.last_vision_s = seconds_since(t0);
  const int64_t m = embeds.dim(0);
  t0 = Clock::now();
  VAMBA_RETURN_IF_ERROR(make_room(m));
  VAMBA_RETURN_IF_ERROR(qa_->append_video(embeds, &stream_.state, options_.lm));
  pair_tokens_.push_back(m);
  if (every > 0 && options_.caption_context == CaptionContext::kSegment) {
    VAMBA_RETURN_IF_ERROR(qa_->append_video(embeds, &segment_.state, options_.lm));
  }
  stats_.last_append_s = seconds_since(t0);

  const int64_t frames = pair.patches.grid_t * qa_->checkpoint().preprocessor.temporal_patch_size;
  ++seg_pairs_;
  seg_frames_ += frames;
  seg_tokens_ += m;
  seg_last_end_ = pair.end;
  ++stats_.pairs;
  stats_.frames += frames;
  stats_.tokens_appended += m;
  stats_.tokens_held = video_tokens_held(stream_.state);
  stats_.state_bytes = stream_.state.bytes() + segment_.state.bytes();
  stats_.ingested_until = std::max(stats_.ingested_until, pair.end);
  stats_.vision_s += stats_.last_vision_s;
  stats_.append_s += stats_.last_append_s;
  stream_.video_tokens = stats_.tokens_held;
  stream_.frames_used = stats_.frames;

  if (!options_.questions.empty() && options_.ask_every_s > 0 && pair.end >= next_ask_ - 1e-9) {
    VAMBA_RETURN_IF_ERROR(answer_questions(pair.end));
    next_ask_ = (std::floor(pair.end / options_.ask_every_s + 1e-9) + 1) * options_.ask_every_s;
  }
  return ok_status();
}

Status StreamIngest::caption_segment() {
  const double end = std::min(seg_end_, std::max(seg_last_end_, seg_start_));
  StreamCaption caption;
  caption.start = seg_start_;
  caption.end = end;
  caption.frames = seg_frames_;
  const std::string prompt = caption_prompt(seg_start_, end);
  if (options_.caption_context == CaptionContext::kSegment) {
    caption.video_tokens = seg_tokens_;
    VAMBA_ASSIGN_OR_RETURN(caption.answer, qa_->ask(segment_, prompt, options_.ask));
    VAMBA_ASSIGN_OR_RETURN(segment_.state, qa_->new_video_state(seg_tokens_));
  } else {
    caption.video_tokens = video_tokens_held(stream_.state);
    VAMBA_ASSIGN_OR_RETURN(caption.answer, qa_->ask(stream_, prompt, options_.ask));
  }
  seg_pairs_ = seg_frames_ = seg_tokens_ = 0;
  if (sink_.on_caption) sink_.on_caption(caption);
  return ok_status();
}

Status StreamIngest::answer_questions(double at) {
  for (const std::string& question : options_.questions) {
    StreamAnswer answer;
    answer.at = at;
    answer.question = question;
    answer.video_tokens = video_tokens_held(stream_.state);
    VAMBA_ASSIGN_OR_RETURN(answer.answer, qa_->ask(stream_, question, options_.ask));
    if (sink_.on_answer) sink_.on_answer(answer);
  }
  answered_until_ = at;
  return ok_status();
}

Status StreamIngest::finish() {
  if (options_.caption_every_s > 0 && seg_pairs_ > 0) VAMBA_RETURN_IF_ERROR(caption_segment());
  if (!options_.questions.empty() && stats_.pairs > 0 &&
      stats_.ingested_until > answered_until_ + 1e-9) {
    VAMBA_RETURN_IF_ERROR(answer_questions(stats_.ingested_until));
  }
  return ok_status();
}

}  // namespace vamba::pipelines
