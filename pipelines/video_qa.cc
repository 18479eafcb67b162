#include "pipelines/video_qa.h"

#include "engine/state/video_window.h"
#include "pipelines/ask_run.h"
#include "pipelines/pair_producer.h"
#include "pipelines/video_budget.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

namespace vamba::pipelines {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

bool is_local_file(const std::string& source) {
  if (source.empty() || vision::is_url(source)) return false;
  std::error_code ec;
  return std::filesystem::is_regular_file(source, ec);
}

}  // namespace

StatusOr<std::unique_ptr<VideoQa>> VideoQa::load(const std::string& model_dir, Device device) {
  VAMBA_ASSIGN_OR_RETURN(Checkpoint checkpoint, Checkpoint::open(model_dir));
  return load(std::move(checkpoint), model_dir, device);
}

StatusOr<std::unique_ptr<VideoQa>> VideoQa::load(Checkpoint checkpoint,
                                                 const std::string& tokenizer_dir, Device device) {
  std::unique_ptr<VideoQa> qa(new VideoQa());
  qa->device_ = device;
  qa->checkpoint_ = std::move(checkpoint);
  VAMBA_ASSIGN_OR_RETURN(qa->tokenizer_, Tokenizer::load(tokenizer_dir));
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
  const auto t_start = Clock::now();

  // Extra decoders for parallel sparse decoding read the same bytes or the same local file; a URL
  // or a pipe keeps its single session.
  const bool reopenable = input.bytes != nullptr || is_local_file(input.source);
  vision::DecodeOptions decode = options.decode;
  const int workers = !reopenable ? 1
                      : options.decode_workers > 0
                          ? options.decode_workers
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // The workers share the cores: FFmpeg's own threads split them rather than multiply them.
  if (decode.threads == 0 && workers > 1) {
    decode.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency() / workers));
  }
  DecoderFactory open = [input, decode]() -> StatusOr<std::unique_ptr<vision::VideoDecoder>> {
    if (input.bytes) return vision::VideoDecoder::open_memory(input.bytes, decode);
    return vision::VideoDecoder::open(input.source, decode);
  };
  VAMBA_ASSIGN_OR_RETURN(std::unique_ptr<vision::VideoDecoder> decoder, open());
  video->info = decoder->info();
  VAMBA_ASSIGN_OR_RETURN(
      std::vector<vision::FrameSample> samples,
      vision::sample_frames(video->info.frame_count, video->info.fps, options.sampling));

  // The video's memory, decided before any frame is decoded (pipelines/video_budget.h).
  VAMBA_ASSIGN_OR_RETURN(
      const VideoBudget budget,
      plan_video_budget(checkpoint_.config, checkpoint_.preprocessor, device_, video->info,
                        static_cast<int64_t>(samples.size()), options));
  vision::VisionEncodeOptions vision_options = options.vision;
  vision_options.max_patches_per_batch = budget.tower_patches_per_batch;
  const int64_t merge = checkpoint_.config.vision.spatial_merge_size;

  // Decode and preprocess pair by pair on the workers while this thread runs the vision tower and
  // the LM's video pass on the pairs already done (pipelines/pair_producer.h).
  PairProducerOptions pairs_options;
  pairs_options.workers = workers;
  pairs_options.pre_resize = options.pre_resize;
  VAMBA_ASSIGN_OR_RETURN(
      std::unique_ptr<PairProducer> producer,
      PairProducer::start(std::move(decoder), reopenable ? open : DecoderFactory(),
                          std::move(samples), checkpoint_.preprocessor, pairs_options));

  int64_t pairs_per_batch = 0;
  double wait_s = 0;
  int64_t done = 0;
  while (done < producer->pair_count()) {
    // The next batch: as many pairs as the tower and one LM chunk take at once.
    std::vector<vision::VideoPatches> batch;
    auto t0 = Clock::now();
    do {
      VAMBA_ASSIGN_OR_RETURN(vision::VideoPatches pair, producer->next());
      if (pairs_per_batch == 0) {
        const int64_t patches = pair.grid_h * pair.grid_w;
        const int64_t tokens = std::max<int64_t>(1, patches / (merge * merge));
        int64_t n = producer->pair_count();
        n = std::min(n, std::max<int64_t>(1, vision_options.max_patches_per_batch / patches));
        if (options.lm.max_chunk_tokens > 0) {
          n = std::min(n, std::max<int64_t>(1, options.lm.max_chunk_tokens / tokens));
        }
        pairs_per_batch = n;
        video->grid_h = pair.grid_h;
        video->grid_w = pair.grid_w;
      }
      batch.push_back(std::move(pair));
      ++done;
    } while (static_cast<int64_t>(batch.size()) < pairs_per_batch && done < producer->pair_count());
    wait_s += seconds_since(t0);
    VAMBA_ASSIGN_OR_RETURN(vision::VideoPatches patches, join_pairs(batch));
    video->frame_timestamps.insert(video->frame_timestamps.end(), patches.timestamps.begin(),
                                   patches.timestamps.end());
    video->grid_t += patches.grid_t;

    // The model lock per batch, so other requests' decode steps go on between batches.
    std::lock_guard<std::mutex> lock(mu_);
    if (video->state.cross_kv.empty()) {
      // Every pair has the same size: the whole video's token count is known now, and the K/V
      // is reserved once (never doubled and copied).
      const int64_t tokens =
          producer->pair_count() * patches.grid_h * patches.grid_w / (merge * merge);
      VAMBA_ASSIGN_OR_RETURN(video->state, lm_->new_video_state(stream_, tokens, options.kv_store));
    }
    t0 = Clock::now();
    VAMBA_ASSIGN_OR_RETURN(Tensor embeds,
                           tower_->encode(patches.pixel_values, patches.grid_t, patches.grid_h,
                                          patches.grid_w, vision_options, stream_));
    VAMBA_RETURN_IF_ERROR(stream_.synchronize());
    video->timings.vision_s += seconds_since(t0);
    t0 = Clock::now();
    VAMBA_RETURN_IF_ERROR(lm_->append_video(embeds, &video->state, stream_, options.lm));
    VAMBA_RETURN_IF_ERROR(stream_.synchronize());
    video->timings.video_lm_s += seconds_since(t0);
  }
  video->frames_used = video->grid_t * checkpoint_.preprocessor.temporal_patch_size;
  video->video_tokens = video->state.tokens;
  // Decoding and preprocessing run on the workers, interleaved frame by frame, so they are timed
  // together: from the start until the last pair was ready.
  video->timings.decode_s = producer->decode_seconds();
  video->timings.preprocess_s = 0;
  video->timings.frames_wait_s = wait_s;
  video->timings.decode_workers = producer->workers();
  video->timings.frames_decoded = producer->frames_decoded();
  video->timings.total_s = seconds_since(t_start);
  spdlog::debug(
      "encoded {} frames -> {} video tokens in {:.3f}s ({} decoders: {} frames decoded, ready "
      "after {:.3f}s; vision {:.3f}s, lm {:.3f}s, waited for frames {:.3f}s)",
      video->frames_used, video->video_tokens, video->timings.total_s,
      video->timings.decode_workers, video->timings.frames_decoded, video->timings.decode_s,
      video->timings.vision_s, video->timings.video_lm_s, wait_s);
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
