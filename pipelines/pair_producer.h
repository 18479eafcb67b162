// Decodes a video's sampled frames on several threads and preprocesses them one temporal patch
// ("pair": temporal_patch_size frames, which the vision tower encodes together) at a time, handing
// the pairs to the caller in order while later pairs are still being decoded. The vision tower and
// the LM's video pass can then start on the first pairs instead of waiting for the whole video,
// which is what brings an hour-long video's time to first token down to seconds.
//
// Each worker has its own decoder (FFmpeg decoders are single-threaded objects) and claims the
// next unclaimed pair, so pairs finish roughly in order at the combined rate of all workers;
// sparse seeks make pairs independent (each seeks to the keyframe before its first frame). At most
// `max_ahead` pairs are claimed beyond the one the caller waits for, bounding memory however slow
// the consumer is.
//
// The result is identical to vision::load_video_input: the same frames, the same pre-resize, and
// the processor applied per pair equals the processor on the whole video (it resizes each frame to
// the same size and patchifies pair by pair).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "engine/model/config.h"
#include "vision/decode/video_decoder.h"
#include "vision/preprocess/video_processor.h"
#include "vision/sample/frame_sampler.h"

namespace vamba::pipelines {

struct PairProducerOptions {
  // Decoders at work at once; 0: one per core, capped by the pair count. URLs should use 1 (one
  // network session) — the caller decides, since only it knows where the video comes from.
  int workers = 0;
  // Pairs decoded ahead of the caller, at most.
  int max_ahead = 64;
  // Vamba's loader resize before the processor; nullopt hands full-size frames to the processor.
  std::optional<vision::PreResizeOptions> pre_resize;
};

// Opens one more decoder on the same video (called once per extra worker, from that worker).
using DecoderFactory = std::function<StatusOr<std::unique_ptr<vision::VideoDecoder>>()>;

class PairProducer {
 public:
  // `first` is an already open decoder (the one that probed the video; worker 0 uses it);
  // `samples` the sampler's choice, in time order. An odd last frame is dropped, as the processor
  // drops it. Fewer than one pair is INVALID_ARGUMENT.
  static StatusOr<std::unique_ptr<PairProducer>> start(std::unique_ptr<vision::VideoDecoder> first,
                                                       DecoderFactory open_more,
                                                       std::vector<vision::FrameSample> samples,
                                                       const PreprocessorConfig& config,
                                                       const PairProducerOptions& options);
  ~PairProducer();  // stops the workers and joins them
  PairProducer(const PairProducer&) = delete;
  PairProducer& operator=(const PairProducer&) = delete;

  int64_t pair_count() const { return pair_count_; }
  int workers() const { return static_cast<int>(threads_.size()); }

  // Waits for the next pair in order and returns its patches (grid_t == 1); OUT_OF_RANGE after
  // the last pair. The first error of any worker is returned (and stops the others).
  StatusOr<vision::VideoPatches> next();

  // Seconds from start() until the last pair was ready (0 while some are still pending).
  double decode_seconds() const;
  // Frames the workers' decoders decoded in all (sparse seeks decode from the keyframe before each
  // wanted frame).
  int64_t frames_decoded() const;

 private:
  PairProducer() = default;
  void work(int worker, std::unique_ptr<vision::VideoDecoder> decoder);
  Status produce(vision::VideoDecoder& decoder, int64_t pair);

  DecoderFactory open_more_;
  std::vector<vision::FrameSample> samples_;
  PreprocessorConfig config_;
  PairProducerOptions options_;
  int64_t pair_count_ = 0;
  int frames_per_pair_ = 2;

  std::mutex mu_;
  std::condition_variable ready_cv_;  // a pair finished, or an error
  std::condition_variable room_cv_;   // the caller took a pair
  std::vector<std::optional<vision::VideoPatches>> slots_;
  int64_t next_claim_ = 0;  // the next pair a worker takes
  int64_t next_take_ = 0;   // the next pair the caller takes
  int64_t finished_ = 0;
  Status error_;
  bool stop_ = false;
  double start_s_ = 0, done_s_ = 0;
  std::atomic<int64_t> frames_decoded_{0};
  std::vector<std::thread> threads_;
};

// Pairs (each grid_t == 1, of one video) joined into one batch for the vision tower: rows in pair
// order, which is the processor's row order.
StatusOr<vision::VideoPatches> join_pairs(std::vector<vision::VideoPatches>& pairs);

}  // namespace vamba::pipelines
