// Incremental ingestion of a live video into one growing video state, with segment captions and
// standing questions. Runs on the model's thread (the CLI's main thread, or the server's worker);
// the frames come already sampled and preprocessed in pairs (frame_pairs.h).
//
// Per frame pair: the vision tower on that pair only, then VambaLm::append_video on its tokens —
// every layer's Mamba pass continues from its carried state and the new cross-attention K/V are
// appended. Nothing earlier is re-encoded, so the work per pair is the same at minute 1 and at
// hour 10. With window_tokens set, the oldest pairs' tokens are dropped from the K/V before an
// append would pass the window (engine/state/video_window.h; the Mamba state keeps the summary):
// memory is bounded for endless streams. Drops go down to 3/4 of the window, so the copy that
// compacts the K/V runs once per quarter window of new tokens (amortised constant per pair).
//
// What a segment caption attends to (caption_context):
//  - kSegment (default): a second, short-lived video state holding only the current segment's
//    tokens (the same tower output appended to both states; the Mamba work of the segment is done
//    twice). The caption is then exactly "what happened in these N seconds", as `vamba caption`
//    would say for that part of a file. Vamba has no notion of clock time inside its video
//    tokens, so asking the whole-stream state about "the last 10 seconds" is a guess at best.
//  - kStream: the caption question goes to the whole-stream state (everything ingested, or the
//    window), with a prompt that names the time range. Cheaper (no second state), and the answer
//    can use context from before the segment, but the model decides what to describe.
// Standing questions always go to the whole-stream state: they are about the stream so far.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pipelines/frame_pairs.h"
#include "pipelines/video_qa.h"

namespace vamba::pipelines {

enum class CaptionContext { kSegment, kStream };

struct StreamIngestOptions {
  double caption_every_s = 0;  // 0: no captions
  // The caption question; "{start}", "{end}" and "{now}" are replaced by seconds of stream time.
  // Empty: kDefaultCaptionPrompt (kSegment), kDefaultStreamCaptionPrompt (kStream).
  std::string caption_prompt;
  CaptionContext caption_context = CaptionContext::kSegment;
  std::vector<std::string> questions;  // standing questions
  double ask_every_s = 0;              // 0: the questions are answered once, at the end
  int64_t window_tokens = 0;           // cross-attention memory bound in video tokens; 0: none
  AskOptions ask;
  vision::VisionEncodeOptions vision;
  VideoOptions lm;
};

inline constexpr const char* kDefaultStreamCaptionPrompt =
    "This is a live video, {now} seconds so far. Describe what happens in its most recent part, "
    "from {start} s to {end} s.";

struct StreamCaption {
  double start = 0, end = 0;  // stream time covered
  int64_t frames = 0;         // sampled frames in the segment
  int64_t video_tokens = 0;   // tokens the caption attended to
  Answer answer;
};

struct StreamAnswer {
  double at = 0;  // stream time ingested when asked
  std::string question;
  int64_t video_tokens = 0;
  Answer answer;
};

struct StreamSink {
  std::function<void(const StreamCaption&)> on_caption;
  std::function<void(const StreamAnswer&)> on_answer;
};

struct StreamStats {
  int64_t pairs = 0;
  int64_t frames = 0;
  int64_t tokens_appended = 0;                  // every video token ever appended
  int64_t tokens_held = 0;                      // in the whole-stream state's K/V now
  int64_t tokens_dropped = 0;                   // by the window
  size_t state_bytes = 0;                       // whole-stream state + segment state
  double ingested_until = 0;                    // stream time
  double vision_s = 0, append_s = 0;            // totals
  double last_vision_s = 0, last_append_s = 0;  // of the last pair
};

class StreamIngest {
 public:
  static StatusOr<std::unique_ptr<StreamIngest>> create(VideoQa* qa, StreamIngestOptions options,
                                                        StreamSink sink);

  // One pair: first the caption of a segment this pair's start has left (if any), then the tower
  // and the appends (and the window), then the standing questions if they are due.
  Status add_pair(const FramePair& pair);
  // End of the stream: the caption of the unfinished segment, and the standing questions once
  // more if anything was ingested since they were last answered.
  Status finish();

  const StreamStats& stats() const { return stats_; }
  const VideoState& state() const { return stream_.state; }

 private:
  StreamIngest(VideoQa* qa, StreamIngestOptions options, StreamSink sink)
      : qa_(qa), options_(std::move(options)), sink_(std::move(sink)) {}
  Status make_room(int64_t incoming);
  Status caption_segment();
  Status answer_questions(double at);
  std::string caption_prompt(double start, double end) const;

  VideoQa* qa_;
  const StreamIngestOptions options_;
  const StreamSink sink_;
  EncodedVideo stream_;              // every pair (or the window's)
  EncodedVideo segment_;             // kSegment: the current segment's pairs only
  std::deque<int64_t> pair_tokens_;  // tokens of each pair held in stream_, oldest first
  // The current segment: [seg_start_, seg_end_) on the grid of caption_every_s.
  double seg_start_ = 0, seg_end_ = 0, seg_last_end_ = 0;
  int64_t seg_pairs_ = 0, seg_frames_ = 0, seg_tokens_ = 0;
  double next_ask_ = 0;
  double answered_until_ = -1;
  StreamStats stats_;
};

}  // namespace vamba::pipelines
