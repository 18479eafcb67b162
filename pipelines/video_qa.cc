#include "pipelines/video_qa.h"

#include "engine/state/video_window.h"
#include "pipelines/ask_run.h"
#include "vision/preprocess/video_input.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace vamba::pipelines {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

StatusOr<std::unique_ptr<VideoQa>> VideoQa::load(const std::string& model_dir, Device device) {
  std::unique_ptr<VideoQa> qa(new VideoQa());
  qa->device_ = device;
  VAMBA_ASSIGN_OR_RETURN(qa->checkpoint_, Checkpoint::open(model_dir));
  VAMBA_ASSIGN_OR_RETURN(qa->tokenizer_, Tokenizer::load(model_dir));
  VAMBA_ASSIGN_OR_RETURN(qa->specials_, qwen2_special_tokens(*qa->tokenizer_));
  VAMBA_ASSIGN_OR_RETURN(qa->stream_, Stream::create(device));
  VAMBA_ASSIGN_OR_RETURN(vision::VisionTower tower,
                         vision::VisionTower::load(qa->checkpoint_, device, &qa->stream_));
  qa->tower_ = std::make_unique<vision::VisionTower>(std::move(tower));
  VAMBA_ASSIGN_OR_RETURN(qa->lm_, VambaLm::load(qa->checkpoint_, device, qa->stream_));
  VAMBA_RETURN_IF_ERROR(qa->stream_.synchronize());
  return qa;
}

StatusOr<Tensor> VideoQa::encode_vision(const vision::VideoPatches& patches,
                                        const vision::VisionEncodeOptions& options) {
  std::lock_guard<std::mutex> lock(mu_);
  VAMBA_ASSIGN_OR_RETURN(Tensor embeds,
                         tower_->encode(patches.pixel_values, patches.grid_t, patches.grid_h,
                                        patches.grid_w, options, stream_));
  VAMBA_RETURN_IF_ERROR(stream_.synchronize());
  return embeds;
}

StatusOr<VideoState> VideoQa::new_video_state(int64_t token_capacity) {
  std::lock_guard<std::mutex> lock(mu_);
  VAMBA_ASSIGN_OR_RETURN(VideoState state, lm_->new_video_state(stream_, token_capacity));
  VAMBA_RETURN_IF_ERROR(stream_.synchronize());
  return state;
}

Status VideoQa::append_video(const Tensor& video_embeds, VideoState* state,
                             const VideoOptions& options) {
  std::lock_guard<std::mutex> lock(mu_);
  VAMBA_RETURN_IF_ERROR(lm_->append_video(video_embeds, state, stream_, options));
  return stream_.synchronize();
}

Status VideoQa::drop_oldest_video_tokens(VideoState* state, int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  VAMBA_RETURN_IF_ERROR(vamba::drop_oldest_video_tokens(state, n, stream_));
  return stream_.synchronize();
}

StatusOr<std::shared_ptr<const EncodedVideo>> VideoQa::encode(const VideoInput& input,
                                                              const VideoEncodeOptions& options) {
  auto video = std::make_shared<EncodedVideo>();

  auto t0 = Clock::now();
  std::unique_ptr<vision::VideoDecoder> decoder;
  if (input.bytes) {
    VAMBA_ASSIGN_OR_RETURN(decoder, vision::VideoDecoder::open_memory(input.bytes, options.decode));
  } else {
    VAMBA_ASSIGN_OR_RETURN(decoder, vision::VideoDecoder::open(input.source, options.decode));
  }
  // Sample, decode (each frame pre-resized as it arrives) and run the processor: the same path as
  // `vamba preprocess` (vision/preprocess/video_input.h).
  vision::VideoInputOptions input_options;
  input_options.sampling = options.sampling;
  input_options.pre_resize = options.pre_resize;
  VAMBA_ASSIGN_OR_RETURN(
      vision::VideoInput loaded,
      vision::load_video_input(*decoder, input_options, checkpoint_.preprocessor));
  video->info = loaded.info;
  vision::VideoPatches patches = std::move(loaded.patches);
  // Decoding and preprocessing are interleaved frame by frame, so they are timed together.
  video->timings.decode_s = seconds_since(t0);
  video->timings.preprocess_s = 0;
  video->frames_used = patches.grid_t * checkpoint_.preprocessor.temporal_patch_size;
  video->frame_timestamps = patches.timestamps;
  video->grid_t = patches.grid_t;
  video->grid_h = patches.grid_h;
  video->grid_w = patches.grid_w;

  std::lock_guard<std::mutex> lock(mu_);
  t0 = Clock::now();
  VAMBA_ASSIGN_OR_RETURN(Tensor embeds,
                         tower_->encode(patches.pixel_values, patches.grid_t, patches.grid_h,
                                        patches.grid_w, options.vision, stream_));
  VAMBA_RETURN_IF_ERROR(stream_.synchronize());
  video->timings.vision_s = seconds_since(t0);
  video->video_tokens = embeds.dim(0);

  t0 = Clock::now();
  VAMBA_ASSIGN_OR_RETURN(video->state, lm_->new_video_state(stream_, embeds.dim(0)));
  VAMBA_RETURN_IF_ERROR(lm_->append_video(embeds, &video->state, stream_, options.lm));
  VAMBA_RETURN_IF_ERROR(stream_.synchronize());
  video->timings.video_lm_s = seconds_since(t0);
  spdlog::debug(
      "encoded {} frames -> {} video tokens (decode {:.3f}s, preprocess {:.3f}s, "
      "vision {:.3f}s, lm {:.3f}s)",
      video->frames_used, video->video_tokens, video->timings.decode_s, video->timings.preprocess_s,
      video->timings.vision_s, video->timings.video_lm_s);
  return std::shared_ptr<const EncodedVideo>(std::move(video));
}

StatusOr<std::unique_ptr<AskRun>> VideoQa::start_ask(
    std::shared_ptr<const EncodedVideo> video, const std::string& question,
    const AskOptions& options, std::function<bool(const std::string&)> on_text) {
  if (!video) return invalid_argument("ask: no video");
  if (options.max_new_tokens <= 0) return invalid_argument("max_new_tokens must be positive");
  const std::vector<int32_t> prompt32 =
      encode_chat_prompt(*tokenizer_, question, options.system_prompt);
  std::vector<int64_t> prompt(prompt32.begin(), prompt32.end());

  std::unique_ptr<AskRun> run(new AskRun());
  run->started_ = AskRun::Clock::now();
  run->video_ = std::move(video);
  run->options_ = options;
  run->on_text_ = std::move(on_text);
  run->streamer_ = std::make_unique<StreamingDecoder>(*tokenizer_, /*skip_special_tokens=*/true);
  run->answer_.prompt_tokens = static_cast<int64_t>(prompt.size());

  GenerateOptions gen;
  gen.max_new_tokens = options.max_new_tokens;
  gen.stop_token_ids = {specials_.im_end, specials_.endoftext};
  gen.sampling = {options.temperature, options.top_k, options.top_p};
  gen.seed = options.seed;
  gen.cancel = options.cancel;
  AskRun* raw = run.get();
  gen.on_token = [raw](int64_t token, int64_t index) { return raw->on_token(token, index); };

  std::lock_guard<std::mutex> lock(mu_);
  VAMBA_ASSIGN_OR_RETURN(TextState text, lm_->new_text_state(stream_, run->answer_.prompt_tokens +
                                                                          options.max_new_tokens));
  run->text_ = std::make_unique<TextState>(std::move(text));
  run->sequence_ = std::make_unique<GenerationSequence>(std::move(prompt), &run->video_->state,
                                                        run->text_.get(), std::move(gen));
  VAMBA_RETURN_IF_ERROR(run->sequence_->prefill(*lm_, stream_));
  return run;
}

Status VideoQa::step(const std::vector<AskRun*>& runs) {
  std::vector<GenerationSequence*> sequences;
  for (AskRun* r : runs) {
    if (r != nullptr && !r->done()) sequences.push_back(r->sequence());
  }
  if (sequences.empty()) return ok_status();
  std::lock_guard<std::mutex> lock(mu_);
  const Status st = decode_step(*lm_, sequences, stream_);
  if (!st.ok()) {
    for (AskRun* r : runs) {
      if (r != nullptr && !r->done()) r->fail(st);
    }
  }
  return st;
}

StatusOr<Answer> VideoQa::ask(const EncodedVideo& video, const std::string& question,
                              const AskOptions& options,
                              const std::function<bool(const std::string& delta)>& on_text) {
  // The caller keeps the video alive for this call: a non-owning pointer.
  std::shared_ptr<const EncodedVideo> borrowed(&video, [](const EncodedVideo*) {});
  VAMBA_ASSIGN_OR_RETURN(std::unique_ptr<AskRun> run,
                         start_ask(std::move(borrowed), question, options, on_text));
  while (!run->done()) VAMBA_RETURN_IF_ERROR(step({run.get()}));
  return run->finish();
}

}  // namespace vamba::pipelines
