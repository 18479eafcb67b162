// e2e_bench: one video file to the first answer token, through the real pipeline (VideoQa: sparse
// parallel decoding, pre-resize and processor on worker threads, the vision tower and the LM's
// video pass overlapped with them, then the question), and a second question on the same encoded
// video. Random weights at the 7B shapes on CUDA (a reduced shape on the CPU, a check that the path
// runs), or a real checkpoint with --model.
//
//   e2e_bench --video hour.mp4 --frames 1024 --shortest-edge 360 --longest-edge 640
//   bench=e2e frames=1024 video_tokens=... encode_s=... decode_s=... vision_s=... prefill_s=...
//         ttft1_s=... ttft2_s=... peak_gib=...
//
// ttft1 counts from the request (the file path) to the first answer token: the whole encode plus
// the question's prefill and first token. ttft2 is the second question's prefill and first token.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "bench/pipelines/bench_model.h"
#include "engine/core/allocator.h"
#include "pipelines/video_qa.h"

using namespace vamba;

namespace {

double peak_gib(Device device) {
  auto alloc = allocator_for(device);
  return alloc.ok() ? (*alloc)->stats().peak_in_use_bytes / double(1ull << 30) : 0.0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Video file to first answer token, stage by stage"};
  std::string video, model, tokenizer = "scripts/tiny-model", device_name = "cuda";
  int frames = 1024, shortest = 360, longest = 640, workers = 0, questions = 2;
  int64_t max_new_tokens = 8;
  bool fast_seek = false, gpu_decode = false;
  app.add_option("--video", video, "Video file")->required();
  app.add_option("--model", model, "Checkpoint folder (default: random weights)");
  app.add_option("--tokenizer", tokenizer, "Folder with tokenizer.json (random weights)");
  app.add_option("--device", device_name, "cuda or cpu");
  app.add_option("--frames", frames, "Frames sampled uniformly");
  app.add_option("--shortest-edge", shortest, "Pre-resize shortest edge");
  app.add_option("--longest-edge", longest, "Pre-resize longest edge");
  app.add_option("--decode-workers", workers, "Decoders at once (0: one per core)");
  app.add_flag("--fast-seek", fast_seek, "Keyframe at or before each sampled time");
  app.add_flag("--gpu-decode", gpu_decode, "FFmpeg's CUDA hwaccel (NVDEC) where available");
  app.add_option("--questions", questions, "Questions asked on the one encoded video");
  app.add_option("--max-new-tokens", max_new_tokens, "Answer length");
  CLI11_PARSE(app, argc, argv);

  auto device = parse_device(device_name);
  if (!device.ok()) {
    fprintf(stderr, "%s\n", device.status().to_string().c_str());
    return 2;
  }
  double t = bench::now_s();
  StatusOr<std::unique_ptr<pipelines::VideoQa>> qa = [&]() {
    if (!model.empty()) return pipelines::VideoQa::load(model, *device);
    VambaConfig config = device->is_cuda() ? vamba_7b_config() : bench::reduced_config();
    config.vocab_size = vamba_7b_config().vocab_size;  // the real tokenizer's ids
    auto ck = random_checkpoint(config, 1234, 16);
    if (!ck.ok()) return StatusOr<std::unique_ptr<pipelines::VideoQa>>(ck.status());
    return pipelines::VideoQa::load(std::move(*ck), tokenizer, *device);
  }();
  if (!qa.ok()) {
    fprintf(stderr, "load: %s\n", qa.status().to_string().c_str());
    return 1;
  }
  fprintf(stderr, "model loaded in %.1f s\n", bench::now_s() - t);

  pipelines::VideoEncodeOptions options;
  options.sampling = {vision::SampleMode::kUniform, frames};
  options.pre_resize = {shortest, longest};
  options.decode_workers = workers;
  options.decode.nearest_keyframe = fast_seek;
  options.decode.gpu = gpu_decode;
  pipelines::VideoInput input;
  input.source = video;
  pipelines::AskOptions ask;
  ask.max_new_tokens = max_new_tokens;

  const double t0 = bench::now_s();
  auto encoded = (*qa)->encode(input, options);
  if (!encoded.ok()) {
    printf("bench=e2e error=\"%s\"\n", encoded.status().to_string().c_str());
    return 1;
  }
  const pipelines::EncodedVideo& v = **encoded;
  std::vector<double> ttft;
  for (int q = 0; q < questions; ++q) {
    const double tq = bench::now_s();
    double first = 0;
    auto answer =
        (*qa)->ask(v, q == 0 ? "What happens in this video?" : "What colours appear on the screen?",
                   ask, [&](const std::string&) {
                     if (first == 0) first = bench::now_s();
                     return true;
                   });
    if (!answer.ok()) {
      printf("bench=e2e error=\"%s\"\n", answer.status().to_string().c_str());
      return 1;
    }
    // The answer's own clock (prefill + first token), from the request for the first question.
    const double own = answer->time_to_first_token_s;
    ttft.push_back(q == 0 ? (tq - t0) + own : own);
    (void)first;
  }
  printf(
      "bench=e2e device=%s fast_seek=%d gpu_decode=%d source_s=%.0f source=%dx%d@%.2f frames=%lld "
      "video_tokens=%lld "
      "encode_s=%.3f decode_s=%.3f decode_workers=%d frames_decoded=%lld vision_s=%.3f "
      "prefill_s=%.3f frames_wait_s=%.3f ttft1_s=%.3f ttft2_s=%.3f peak_gib=%.2f\n",
      device_name.c_str(), fast_seek ? 1 : 0, gpu_decode ? 1 : 0, v.info.duration, v.info.width,
      v.info.height, v.info.fps, (long long)v.frames_used, (long long)v.video_tokens,
      v.timings.total_s, v.timings.decode_s, v.timings.decode_workers,
      (long long)v.timings.frames_decoded, v.timings.vision_s, v.timings.video_lm_s,
      v.timings.frames_wait_s, ttft.empty() ? 0.0 : ttft[0], ttft.size() > 1 ? ttft[1] : 0.0,
      peak_gib(*device));
  return 0;
}
