// e2e_bench: one video file to the first answer token, through the real pipeline (VideoQa: sparse
// parallel decoding, pre-resize and processor on worker threads, the vision tower and the LM's
// video pass overlapped with them, then the question), and a second question on the same encoded
// video. Random weights at the 7B shapes on CUDA (a reduced shape on the CPU, a check that the path
// runs), or a real checkpoint with --model.
//
//   e2e_bench --video hour.mp4 --frames 1024 --shortest-edge 360 --longest-edge 640
//       [--case frames=1024,fast_seek=1,kv=bf16 ...]      (the model loads once)
//   bench=e2e ... frames=1024 video_tokens=... encode_s=... decode_s=... vision_s=... prefill_s=...
//             ttft1_s=... ttft2_s=... peak_gib=...
//
// ttft1 counts from the request (the file path) to the first answer token: the whole encode plus
// the question's prefill and first token. ttft2 is the second question's prefill and first token.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "bench/pipelines/bench_model.h"
#include "engine/core/allocator.h"
#include "pipelines/video_qa.h"

using namespace vamba;

namespace {

struct Flags {
  std::string video, model, tokenizer = "scripts/tiny-model", device_name = "cuda";
  int frames = 1024, shortest = 360, longest = 640, workers = 0, questions = 2;
  int64_t max_new_tokens = 8;
  bool fast_seek = false, gpu_decode = false;
  std::string kv = "bf16";
  std::vector<std::string> cases;
};

struct Case {
  int frames = 0;
  bool fast_seek = false;
  bool gpu_decode = false;
  KvStore kv = KvStore::kActivation;
};

double peak_gib(Device device) {
  auto alloc = allocator_for(device);
  return alloc.ok() ? (*alloc)->stats().peak_in_use_bytes / double(1ull << 30) : 0.0;
}

StatusOr<Case> parse_case(const std::string& spec, const Flags& f) {
  Case c{f.frames, f.fast_seek, f.gpu_decode, KvStore::kActivation};
  std::string kv = f.kv;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const size_t eq = item.find('=');
    const std::string k = item.substr(0, eq);
    const std::string v = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (k == "frames") {
      c.frames = std::stoi(v);
    } else if (k == "fast_seek") {
      c.fast_seek = v == "1";
    } else if (k == "gpu_decode") {
      c.gpu_decode = v == "1";
    } else if (k == "kv") {
      kv = v;
    } else if (!k.empty()) {
      return invalid_argument("--case: unknown key " + k);
    }
  }
  const auto store = parse_kv_store(kv);
  if (!store) return invalid_argument("unknown K/V store " + kv);
  c.kv = *store;
  return c;
}

// Encodes the video and asks the questions; prints one bench line.
bool run_case(pipelines::VideoQa& qa, const Flags& f, Device device, const Case& c) {
  pipelines::VideoEncodeOptions options;
  options.sampling = {vision::SampleMode::kUniform, c.frames};
  options.pre_resize = {f.shortest, f.longest};
  options.decode_workers = f.workers;
  options.decode.nearest_keyframe = c.fast_seek;
  options.decode.gpu = c.gpu_decode;
  options.kv_store = c.kv;
  pipelines::VideoInput input;
  input.source = f.video;
  pipelines::AskOptions ask;
  ask.max_new_tokens = f.max_new_tokens;

  const double t0 = bench::now_s();
  auto encoded = qa.encode(input, options);
  if (!encoded.ok()) {
    printf("bench=e2e frames=%d kv=%s error=\"%s\"\n", c.frames, kv_store_name(c.kv),
           encoded.status().to_string().c_str());
    return false;
  }
  const pipelines::EncodedVideo& v = **encoded;
  std::vector<double> ttft;
  for (int q = 0; q < f.questions; ++q) {
    const double tq = bench::now_s();
    auto answer = qa.ask(
        v, q == 0 ? "What happens in this video?" : "What colours appear on the screen?", ask);
    if (!answer.ok()) {
      printf("bench=e2e frames=%d error=\"%s\"\n", c.frames, answer.status().to_string().c_str());
      return false;
    }
    // The answer's own clock (prefill + first token), from the request for the first question.
    const double own = answer->time_to_first_token_s;
    ttft.push_back(q == 0 ? (tq - t0) + own : own);
  }
  printf(
      "bench=e2e device=%s kv=%s fast_seek=%d gpu_decode=%d source_s=%.0f source=%dx%d@%.2f "
      "frames=%lld video_tokens=%lld encode_s=%.3f decode_s=%.3f decode_workers=%d "
      "frames_decoded=%lld vision_s=%.3f prefill_s=%.3f frames_wait_s=%.3f ttft1_s=%.3f "
      "ttft2_s=%.3f peak_gib=%.2f\n",
      f.device_name.c_str(), kv_store_name(c.kv), c.fast_seek ? 1 : 0, c.gpu_decode ? 1 : 0,
      v.info.duration, v.info.width, v.info.height, v.info.fps, (long long)v.frames_used,
      (long long)v.video_tokens, v.timings.total_s, v.timings.decode_s, v.timings.decode_workers,
      (long long)v.timings.frames_decoded, v.timings.vision_s, v.timings.video_lm_s,
      v.timings.frames_wait_s, ttft.empty() ? 0.0 : ttft[0], ttft.size() > 1 ? ttft[1] : 0.0,
      peak_gib(device));
  fflush(stdout);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Video file to first answer token, stage by stage"};
  Flags f;
  app.add_option("--video", f.video, "Video file")->required();
  app.add_option("--model", f.model, "Checkpoint folder (default: random weights)");
  app.add_option("--tokenizer", f.tokenizer, "Folder with tokenizer.json (random weights)");
  app.add_option("--device", f.device_name, "cuda or cpu");
  app.add_option("--frames", f.frames, "Frames sampled uniformly");
  app.add_option("--shortest-edge", f.shortest, "Pre-resize shortest edge");
  app.add_option("--longest-edge", f.longest, "Pre-resize longest edge");
  app.add_option("--decode-workers", f.workers, "Decoders at once (0: one per core)");
  app.add_flag("--fast-seek", f.fast_seek, "Keyframe at or before each sampled time");
  app.add_flag("--gpu-decode", f.gpu_decode, "FFmpeg's CUDA hwaccel (NVDEC) where available");
  app.add_option("--kv-store", f.kv, "bf16 or fp8");
  app.add_option("--questions", f.questions, "Questions asked on the one encoded video");
  app.add_option("--max-new-tokens", f.max_new_tokens, "Answer length");
  app.add_option("--case", f.cases,
                 "frames=N,fast_seek=0|1,gpu_decode=0|1,kv=bf16|fp8 (repeatable)");
  CLI11_PARSE(app, argc, argv);

  auto device = parse_device(f.device_name);
  if (!device.ok()) {
    fprintf(stderr, "%s\n", device.status().to_string().c_str());
    return 2;
  }
  std::vector<Case> cases;
  for (const std::string& spec : f.cases) {
    auto c = parse_case(spec, f);
    if (!c.ok()) {
      fprintf(stderr, "%s\n", c.status().to_string().c_str());
      return 2;
    }
    cases.push_back(*c);
  }
  if (cases.empty()) {
    auto c = parse_case("", f);
    if (!c.ok()) {
      fprintf(stderr, "%s\n", c.status().to_string().c_str());
      return 2;
    }
    cases.push_back(*c);
  }

  const double t = bench::now_s();
  StatusOr<std::unique_ptr<pipelines::VideoQa>> qa = [&]() {
    if (!f.model.empty()) return pipelines::VideoQa::load(f.model, *device);
    VambaConfig config = device->is_cuda() ? vamba_7b_config() : bench::reduced_config();
    config.vocab_size = vamba_7b_config().vocab_size;  // the real tokenizer's ids
    auto ck = random_checkpoint(config, 1234, 16);
    if (!ck.ok()) return StatusOr<std::unique_ptr<pipelines::VideoQa>>(ck.status());
    return pipelines::VideoQa::load(std::move(*ck), f.tokenizer, *device);
  }();
  if (!qa.ok()) {
    fprintf(stderr, "load: %s\n", qa.status().to_string().c_str());
    return 1;
  }
  fprintf(stderr, "model loaded in %.1f s\n", bench::now_s() - t);
  int failures = 0;
  for (const Case& c : cases) failures += run_case(**qa, f, *device, c) ? 0 : 1;
  return failures == 0 ? 0 : 1;
}
