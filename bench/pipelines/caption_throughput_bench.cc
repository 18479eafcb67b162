// caption_throughput_bench: batch captioning throughput (`vamba caption`) from the model's work per
// segment, measured on the engine with random weights (7B shapes on CUDA; a reduced model on the
// CPU as a check): the vision tower on the segment's frames, a fresh video state and the video
// prefill (every layer's Mamba pass and K/V), the caption prompt's prefill, and the caption's
// decode steps. Decoding and preprocessing the video are not in it: in `vamba caption` they run on
// a prefetch thread, overlapped with this model work, so throughput is the model's as long as the
// CPU decodes a segment faster than the GPU captions it (decode_bench on the build machine gives
// the decode side). This runs where the benchmarks run: the GPU machine has no FFmpeg.
//   bench=caption_throughput device=cuda:0 segment_s=30 frames=32 tokens=2720 caption_tokens=64
//     tower_ms=... prefill_ms=... prompt_ms=... decode_ms_per_token=... segment_ms=...
//     segments_per_hour=... videos_per_hour=... video_hours_per_hour=...
#include <CLI/CLI.hpp>

#include <cmath>

#include "bench/pipelines/bench_model.h"

namespace vamba::bench {
namespace {

struct Args {
  double segment_s = 30;
  int frames = 32;  // per segment (vamba caption's default)
  int height = 280;
  int width = 476;
  int prompt_tokens = 40;    // chat template + the caption question
  int caption_tokens = 64;   // tokens generated per caption
  double video_minutes = 5;  // for videos/hour
  int iters = 3;
  std::string device;
};

struct SegmentTimes {
  double tower = 0, prefill = 0, prompt = 0, decode = 0;
  double total() const { return tower + prefill + prompt + decode; }
};

StatusOr<SegmentTimes> caption_segment(BenchModel& m, const Tensor& pixels, const PairShape& shape,
                                       int64_t pairs, const Args& a) {
  SegmentTimes t;
  double t0 = now_s();
  VAMBA_ASSIGN_OR_RETURN(Tensor tokens,
                         m.tower->encode(pixels, pairs, shape.grid_h, shape.grid_w, {}, m.stream));
  VAMBA_RETURN_IF_ERROR(m.stream.synchronize());
  t.tower = now_s() - t0;
  t0 = now_s();
  VAMBA_ASSIGN_OR_RETURN(VideoState video, m.lm->new_video_state(m.stream, tokens.dim(0)));
  VAMBA_RETURN_IF_ERROR(m.lm->append_video(tokens, &video, m.stream));
  VAMBA_RETURN_IF_ERROR(m.stream.synchronize());
  t.prefill = now_s() - t0;
  t0 = now_s();
  VAMBA_ASSIGN_OR_RETURN(TextState text,
                         m.lm->new_text_state(m.stream, a.prompt_tokens + a.caption_tokens));
  std::vector<int64_t> prompt(a.prompt_tokens);
  for (int i = 0; i < a.prompt_tokens; ++i) prompt[i] = (1000 + 37 * i) % m.config.vocab_size;
  TextOutput out;
  VAMBA_RETURN_IF_ERROR(m.lm->forward_text(prompt, video, &text, &out, m.stream));
  VAMBA_RETURN_IF_ERROR(m.stream.synchronize());
  t.prompt = now_s() - t0;
  t0 = now_s();
  Tensor logits;
  for (int i = 1; i < a.caption_tokens; ++i) {
    VAMBA_RETURN_IF_ERROR(m.lm->decode_step(
        {DecodeRequest{(500 + 13 * i) % m.config.vocab_size, &video, &text}}, &logits, m.stream));
  }
  VAMBA_RETURN_IF_ERROR(m.stream.synchronize());
  t.decode = now_s() - t0;
  return t;
}

int run(Args a) {
  VambaConfig config = vamba_7b_config();
  if (a.device.empty()) {
    if (cuda::available()) {
      a.device = "cuda";
    } else {
      a.device = "cpu";
      config = reduced_config();
      a.height = a.width = 56;
      a.frames = 8;
      a.caption_tokens = 8;
      a.iters = 1;
      fprintf(stderr,
              "caption_throughput_bench: no CUDA device; a reduced model on the CPU "
              "(a check, not a figure)\n");
    }
  } else if (a.device == "cpu") {
    config = reduced_config();
  }
  auto device = parse_device(a.device);
  if (!device.ok()) return fprintf(stderr, "%s\n", device.status().to_string().c_str()), 2;
  const VisionConfig& vc = config.vision;
  const int factor = vc.patch_size * vc.spatial_merge_size;
  if (a.height % factor != 0 || a.width % factor != 0 || a.frames < 2) {
    fprintf(stderr, "--height/--width must be multiples of %d, --frames at least 2\n", factor);
    return 2;
  }
  const double t_load = now_s();
  auto model = load_bench_model(config, *device);
  if (!model.ok()) return fprintf(stderr, "%s\n", model.status().to_string().c_str()), 1;
  fprintf(stderr, "random model loaded in %.1f s\n", now_s() - t_load);
  BenchModel& m = **model;
  const PairShape shape = pair_shape(vc, a.height, a.width);
  const int64_t pairs = a.frames / vc.temporal_patch_size;
  auto pixels = random_rows(pairs * shape.patches, shape.cols, 2.0f, 7);
  if (!pixels.ok()) return 1;

  std::vector<SegmentTimes> runs;
  for (int i = -1; i < a.iters; ++i) {  // one untimed warm-up segment
    auto t = caption_segment(m, *pixels, shape, pairs, a);
    if (!t.ok()) {
      printf("bench=caption_throughput device=%s error=\"%s\"\n", device->to_string().c_str(),
             t.status().to_string().c_str());
      return 1;
    }
    if (i >= 0) runs.push_back(*t);
  }
  std::sort(runs.begin(), runs.end(),
            [](const SegmentTimes& x, const SegmentTimes& y) { return x.total() < y.total(); });
  const SegmentTimes& t = runs[runs.size() / 2];
  const double segment_s = t.total();
  const double segments_per_hour = 3600 / segment_s;
  const double segments_per_video = std::ceil(a.video_minutes * 60 / a.segment_s);
  printf(
      "bench=caption_throughput device=%s segment_s=%g frames=%d height=%d width=%d "
      "tokens=%lld prompt_tokens=%d caption_tokens=%d tower_ms=%.1f prefill_ms=%.1f "
      "prompt_ms=%.1f decode_ms_per_token=%.2f segment_ms=%.1f segments_per_hour=%.0f "
      "video_minutes=%g videos_per_hour=%.1f video_hours_per_hour=%.1f\n",
      device->to_string().c_str(), a.segment_s, a.frames, a.height, a.width,
      (long long)(pairs * shape.tokens), a.prompt_tokens, a.caption_tokens, t.tower * 1e3,
      t.prefill * 1e3, t.prompt * 1e3, t.decode * 1e3 / std::max(1, a.caption_tokens - 1),
      segment_s * 1e3, segments_per_hour, a.video_minutes, segments_per_hour / segments_per_video,
      segments_per_hour * a.segment_s / 3600);
  return 0;
}

}  // namespace
}  // namespace vamba::bench

int main(int argc, char** argv) {
  vamba::bench::Args a;
  CLI::App app{"Batch captioning throughput from the model's per-segment work (random weights)"};
  app.add_option("--segment-s", a.segment_s, "Segment length, seconds")->capture_default_str();
  app.add_option("--frames", a.frames, "Frames per segment")->capture_default_str();
  app.add_option("--height", a.height, "Frame height after the processor (multiple of 28)")
      ->capture_default_str();
  app.add_option("--width", a.width, "Frame width after the processor (multiple of 28)")
      ->capture_default_str();
  app.add_option("--prompt-tokens", a.prompt_tokens, "Caption prompt length")
      ->capture_default_str();
  app.add_option("--caption-tokens", a.caption_tokens, "Tokens generated per caption")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--video-minutes", a.video_minutes, "Video length for videos/hour")
      ->capture_default_str();
  app.add_option("--iters", a.iters, "Timed segments (median)")->capture_default_str();
  app.add_option("--device", a.device, "cpu or cuda[:i] (default: cuda when available)");
  CLI11_PARSE(app, argc, argv);
  return vamba::bench::run(a);
}
