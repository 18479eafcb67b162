// Video question answering: the main job. A loaded model (tokenizer, vision tower, hybrid LM) that
// encodes a video once — decode, sample, preprocess, vision tower, every layer's Mamba pass and
// cross-attention K/V — and then answers any number of questions about it at the cost of the text
// alone, streaming the answer as it is generated.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/generate/generate.h"
#include "engine/model/checkpoint.h"
#include "engine/models/vamba_lm.h"
#include "engine/state/kv_store.h"
#include "engine/tokenizer/chat_prompt.h"
#include "engine/tokenizer/streaming_decoder.h"
#include "engine/tokenizer/tokenizer.h"
#include "vision/decode/video_decoder.h"
#include "vision/preprocess/video_processor.h"
#include "vision/sample/frame_sampler.h"
#include "vision/tower/vision_tower.h"

namespace vamba::pipelines {

// Where the video comes from: a path or URL, or bytes already in memory.
struct VideoInput {
  std::string source;                                 // path or URL (ignored when bytes is set)
  std::shared_ptr<const std::vector<uint8_t>> bytes;  // an uploaded video
};

struct VideoEncodeOptions {
  vision::DecodeOptions decode;
  // Vamba's evaluation defaults: 512 frames, sampled from the middle of equal ranges.
  vision::SamplingOptions sampling{vision::SampleMode::kUniform, 512};
  // Vamba's evaluation pre-resize (img_shortest_edge 256, img_longest_edge 480).
  vision::PreResizeOptions pre_resize{256, 480};
  // Tower batches sized to the memory left (max_patches_per_batch 0: see below).
  vision::VisionEncodeOptions vision = [] {
    vision::VisionEncodeOptions o;
    o.max_patches_per_batch = 0;
    return o;
  }();
  VideoOptions lm;
  // Decoders working at once on a local file or uploaded bytes (a URL or a pipe uses one); 0: one
  // per core.
  int decode_workers = 0;
  // How the video's cross-attention K/V is stored (fp8 halves the memory that grows with it).
  KvStore kv_store = KvStore::kActivation;
  // Memory: the video's plan (engine/state/memory_plan.h) must fit in what the device has free,
  // less `memory_reserve_bytes` (-1: 1 GiB on CUDA for other requests' work, 0 on the CPU), and
  // within `memory_limit_bytes` when positive; otherwise encode() is RESOURCE_EXHAUSTED before any
  // frame is decoded. vision.max_patches_per_batch 0 sizes the tower's batches from that memory.
  int64_t memory_limit_bytes = 0;
  int64_t memory_reserve_bytes = -1;
};

struct EncodeTimings {
  // Demux, decode and colour conversion of the sampled frames, each pre-resized as it arrives, then
  // the processor (resize, normalisation, patchify): interleaved, so timed together here.
  double decode_s = 0;
  double preprocess_s = 0;  // 0: included in decode_s (kept for the API's timing fields)
  double vision_s = 0;      // the vision tower
  double video_lm_s = 0;    // every layer's Mamba pass and cross-attention K/V
  // The stages overlap (decoding runs on worker threads while the tower and the LM work on the
  // frames already decoded), so decode_s counts from the start until the last frame was ready and
  // total_s is the encode's wall time, less than the sum.
  double total_s = 0;
  double frames_wait_s = 0;    // time the tower and LM sat idle waiting for frames
  int decode_workers = 0;      // decoders that ran at once
  int64_t frames_decoded = 0;  // by all decoders (sparse seeks decode from the prior keyframe)
};

// A video encoded once, ready for questions. Read-only after encode(): questions never change it.
struct EncodedVideo {
  VideoState state;
  vision::VideoInfo info;
  std::vector<double> frame_timestamps;  // of the frames the model saw
  int64_t frames_used = 0;
  int64_t grid_t = 0, grid_h = 0, grid_w = 0;
  int64_t video_tokens = 0;
  EncodeTimings timings;
};

struct AskOptions {
  int64_t max_new_tokens = 512;
  float temperature = 0.0f;  // 0: greedy
  int64_t top_k = 0;
  float top_p = 1.0f;
  uint64_t seed = 0;
  std::vector<std::string> stop_strings;  // besides <|im_end|> and <|endoftext|>
  std::string system_prompt = std::string(kDefaultSystemPrompt);
  const std::atomic<bool>* cancel = nullptr;
};

struct Answer {
  std::string text;
  std::vector<int64_t> tokens;
  std::string finish_reason;  // "stop", "length", "cancelled", "stop_string"
  int64_t prompt_tokens = 0;
  double time_to_first_token_s = 0;  // prompt prefill + first token
  double decode_s = 0;               // the remaining tokens
  double tokens_per_s() const {
    return tokens.size() > 1 && decode_s > 0 ? (tokens.size() - 1) / decode_s : 0;
  }
};

class AskRun;

class VideoQa {
 public:
  // Loads tokenizer, vision tower and language model from a checkpoint folder onto `device`.
  static StatusOr<std::unique_ptr<VideoQa>> load(const std::string& model_dir, Device device);
  // The same from a checkpoint already in memory (benchmarks: random weights at the 7B shapes),
  // with the tokenizer from `tokenizer_dir`.
  static StatusOr<std::unique_ptr<VideoQa>> load(Checkpoint checkpoint,
                                                 const std::string& tokenizer_dir, Device device);

  StatusOr<std::shared_ptr<const EncodedVideo>> encode(const VideoInput& input,
                                                       const VideoEncodeOptions& options);
  // Streams text deltas (complete UTF-8 only) to on_text; returning false stops generation.
  // One question alone: start_ask, step until done, finish.
  StatusOr<Answer> ask(const EncodedVideo& video, const std::string& question,
                       const AskOptions& options,
                       const std::function<bool(const std::string& delta)>& on_text = {});

  // The same in parts, for a scheduler that decodes many questions together (see ask_run.h):
  // start_ask prefills the question and chooses its first token; step advances every unfinished
  // run by one token through one batched decode step (a failed step fails all its runs).
  StatusOr<std::unique_ptr<AskRun>> start_ask(std::shared_ptr<const EncodedVideo> video,
                                              const std::string& question,
                                              const AskOptions& options,
                                              std::function<bool(const std::string&)> on_text);
  Status step(const std::vector<AskRun*>& runs);

  // Building blocks for jobs that hold video state themselves: batch captioning from frames
  // decoded ahead on another thread, live streams appended frame pair by frame pair. Each call
  // takes the model lock and returns after the device has finished its work.
  // The vision tower on preprocessed patches: (tokens, hidden) on the model's device.
  StatusOr<Tensor> encode_vision(const vision::VideoPatches& patches,
                                 const vision::VisionEncodeOptions& options = {});
  // An empty video state (capacity: video tokens expected, a hint).
  StatusOr<VideoState> new_video_state(int64_t token_capacity = 0);
  // Appends video tokens (encode_vision's output) to `state`, continuing its Mamba states.
  Status append_video(const Tensor& video_embeds, VideoState* state,
                      const VideoOptions& options = {});
  // Forgets the n oldest video tokens of the state's cross-attention K/V
  // (engine/state/video_window.h).
  Status drop_oldest_video_tokens(VideoState* state, int64_t n);

  const Checkpoint& checkpoint() const { return checkpoint_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  Device device() const { return device_; }

 private:
  VideoQa() = default;

  Device device_;
  Checkpoint checkpoint_;
  std::unique_ptr<Tokenizer> tokenizer_;
  Qwen2SpecialTokens specials_;
  std::unique_ptr<vision::VisionTower> tower_;
  std::unique_ptr<VambaLm> lm_;
  Stream stream_;
  std::mutex mu_;  // one job at a time on this model's stream
};

}  // namespace vamba::pipelines
