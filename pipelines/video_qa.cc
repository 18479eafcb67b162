#include "pipelines/video_qa.h"

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
  video->info = decoder->info();
  VAMBA_ASSIGN_OR_RETURN(
      std::vector<vision::FrameSample> samples,
      vision::sample_frames(video->info.frame_count, video->info.fps, options.sampling));
  std::vector<int64_t> indices;
  indices.reserve(samples.size());
  for (const auto& s : samples) indices.push_back(s.index);
  VAMBA_ASSIGN_OR_RETURN(std::vector<vision::VideoFrame> frames,
                         decoder->frames_at_indices(indices));
  video->timings.decode_s = seconds_since(t0);

  t0 = Clock::now();
  VAMBA_ASSIGN_OR_RETURN(frames, vision::pre_resize_frames(frames, options.pre_resize));
  VAMBA_ASSIGN_OR_RETURN(vision::VideoPatches patches,
                         vision::process_video(frames, checkpoint_.preprocessor));
  frames.clear();
  video->timings.preprocess_s = seconds_since(t0);
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
  spdlog::debug("encoded {} frames -> {} video tokens (decode {:.3f}s, preprocess {:.3f}s, "
                "vision {:.3f}s, lm {:.3f}s)",
                video->frames_used, video->video_tokens, video->timings.decode_s,
                video->timings.preprocess_s, video->timings.vision_s, video->timings.video_lm_s);
  return std::shared_ptr<const EncodedVideo>(std::move(video));
}

StatusOr<Answer> VideoQa::ask(const EncodedVideo& video, const std::string& question,
                              const AskOptions& options,
                              const std::function<bool(const std::string& delta)>& on_text) {
  if (options.max_new_tokens <= 0) return invalid_argument("max_new_tokens must be positive");
  const std::vector<int32_t> prompt32 =
      encode_chat_prompt(*tokenizer_, question, options.system_prompt);
  const std::vector<int64_t> prompt(prompt32.begin(), prompt32.end());

  Answer answer;
  answer.prompt_tokens = static_cast<int64_t>(prompt.size());
  StreamingDecoder streamer(*tokenizer_, /*skip_special_tokens=*/true);
  bool stopped_by_string = false;
  bool stopped_by_client = false;
  auto t0 = Clock::now();
  Clock::time_point first_token_at{};

  GenerateOptions gen;
  gen.max_new_tokens = options.max_new_tokens;
  gen.stop_token_ids = {specials_.im_end, specials_.endoftext};
  gen.sampling = {options.temperature, options.top_k, options.top_p};
  gen.seed = options.seed;
  gen.cancel = options.cancel;
  gen.on_token = [&](int64_t token, int64_t index) {
    if (index == 0) first_token_at = Clock::now();
    std::string delta = streamer.push(static_cast<int32_t>(token));
    answer.text += delta;
    // A stop string ends the answer before it (the string itself is not part of the answer).
    for (const auto& stop : options.stop_strings) {
      if (stop.empty()) continue;
      const size_t at = answer.text.find(stop);
      if (at != std::string::npos) {
        const size_t already = answer.text.size() - delta.size();
        delta = at > already ? delta.substr(0, at - already) : std::string();
        answer.text.resize(at);
        stopped_by_string = true;
      }
    }
    if (on_text && !delta.empty() && !on_text(delta)) stopped_by_client = true;
    return !stopped_by_string && !stopped_by_client;
  };

  std::lock_guard<std::mutex> lock(mu_);
  VAMBA_ASSIGN_OR_RETURN(TextState text,
                         lm_->new_text_state(stream_, answer.prompt_tokens + options.max_new_tokens));
  VAMBA_ASSIGN_OR_RETURN(GenerateResult result,
                         generate(*lm_, prompt, video.state, &text, gen, stream_));
  if (!stopped_by_string) {
    const std::string tail = streamer.flush();
    answer.text += tail;
    if (on_text && !tail.empty()) on_text(tail);
  }
  const auto end = Clock::now();
  answer.tokens = result.tokens;
  if (first_token_at == Clock::time_point{}) first_token_at = end;
  answer.time_to_first_token_s = std::chrono::duration<double>(first_token_at - t0).count();
  answer.decode_s = std::chrono::duration<double>(end - first_token_at).count();
  switch (result.reason) {
    case StopReason::kStopToken: answer.finish_reason = "stop"; break;
    case StopReason::kMaxTokens: answer.finish_reason = "length"; break;
    case StopReason::kCancelled: answer.finish_reason = "cancelled"; break;
    case StopReason::kCallback:
      answer.finish_reason = stopped_by_string ? "stop_string" : "cancelled";
      break;
  }
  return answer;
}

}  // namespace vamba::pipelines
