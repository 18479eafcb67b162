// vamba ask: answer questions about one video, streaming the answer to stdout. Several --question
// flags reuse the same encoded video (the video is decoded and encoded once).
#include <nlohmann/json.hpp>

#include <iostream>
#include <map>
#include <optional>

#include "cli/command.h"
#include "cli/video_options.h"
#include "engine/state/kv_store.h"
#include "pipelines/video_qa.h"

namespace {

using vamba::pipelines::AskOptions;
using vamba::pipelines::VideoEncodeOptions;

struct AskArgs {
  std::string model;
  std::string video;
  std::vector<std::string> questions;
  std::string device;
  vamba::cli::VideoSamplingArgs sampling;
  AskOptions ask;
  int decode_workers = 0;
  bool fast_seek = false;
  int64_t video_memory_mb = 0;
  bool json = false;
  std::string kv_store = "bf16";  // the video's cross-attention K/V: exact, or fp8 (kv_store.h)
};

int run_ask(const AskArgs& a) {
  std::string device_name = a.device;
  if (device_name.empty()) device_name = vamba::cuda::available() ? "cuda" : "cpu";
  auto device = vamba::parse_device(device_name);
  if (!device.ok()) return vamba::cli::fail("ask", device.status().message(), 2);
  const std::optional<vamba::KvStore> kv_store = vamba::parse_kv_store(a.kv_store);
  if (!kv_store) {
    return vamba::cli::fail("ask", "--kv-store " + a.kv_store + ": expected bf16 or fp8", 2);
  }

  auto qa = vamba::pipelines::VideoQa::load(a.model, *device);
  if (!qa.ok()) return vamba::cli::fail("ask", qa.status().to_string());

  vamba::pipelines::VideoInput input;
  if (a.video == "-") {  // the whole video from stdin (a pipe of an MP4/MKV/TS file)
    input.bytes = vamba::cli::read_stdin_bytes();
  } else {
    input.source = a.video;
  }
  VideoEncodeOptions opts;
  opts.sampling = vamba::cli::sampling_options(a.sampling);
  opts.pre_resize = vamba::cli::pre_resize_options(a.sampling);
  opts.decode_workers = a.decode_workers;
  opts.decode.nearest_keyframe = a.fast_seek;
  opts.memory_limit_bytes = a.video_memory_mb * (int64_t{1} << 20);
  opts.kv_store = *kv_store;
  auto video = (*qa)->encode(input, opts);
  if (!video.ok()) return vamba::cli::fail("ask", video.status().to_string());
  const auto& v = **video;
  // The stages overlap: decoding (on worker threads) is timed until its last frame, the tower and
  // the video prefill as their own busy time, and the encode as a whole by its wall time.
  std::cerr << "video: " << v.frames_used << " frames -> " << v.video_tokens << " video tokens in "
            << v.timings.total_s << " s (decode " << v.timings.decode_s << " s on "
            << v.timings.decode_workers << " decoders, " << v.timings.frames_decoded
            << " frames decoded; vision " << v.timings.vision_s << " s, video prefill "
            << v.timings.video_lm_s << " s, waited for frames " << v.timings.frames_wait_s
            << " s)\n";

  for (const auto& question : a.questions) {
    auto answer = (*qa)->ask(v, question, a.ask, [&](const std::string& delta) {
      if (!a.json) std::cout << delta << std::flush;
      return true;
    });
    if (!answer.ok()) return vamba::cli::fail("ask", answer.status().to_string());
    if (a.json) {
      nlohmann::json j = {{"question", question},
                          {"answer", answer->text},
                          {"finish_reason", answer->finish_reason},
                          {"prompt_tokens", answer->prompt_tokens},
                          {"completion_tokens", answer->tokens.size()},
                          {"tokens", answer->tokens},
                          {"video_tokens", v.video_tokens},
                          {"frames", v.frames_used},
                          {"encode",
                           {{"total_s", v.timings.total_s},
                            {"decode_s", v.timings.decode_s},
                            {"vision_s", v.timings.vision_s},
                            {"video_prefill_s", v.timings.video_lm_s},
                            {"frames_wait_s", v.timings.frames_wait_s},
                            {"decode_workers", v.timings.decode_workers},
                            {"frames_decoded", v.timings.frames_decoded}}},
                          {"time_to_first_token_s", answer->time_to_first_token_s},
                          {"tokens_per_s", answer->tokens_per_s()}};
      std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
    } else {
      std::cout << std::endl;
      std::cerr << "answer: " << answer->tokens.size() << " tokens (" << answer->finish_reason
                << "), first token " << answer->time_to_first_token_s << " s, "
                << answer->tokens_per_s() << " tokens/s\n";
    }
  }
  return 0;
}

vamba::cli::RunFn setup_ask(CLI::App& sub) {
  auto a = std::make_shared<AskArgs>();
  sub.add_option("--model", a->model,
                 "Checkpoint folder (config.json, *.safetensors, tokenizer.json)")
      ->required();
  sub.add_option("--video", a->video, "Video file, URL (http, rtsp, ...) or - for stdin")
      ->required();
  sub.add_option("question,-q,--question", a->questions,
                 "Question (positional or -q; repeat -q to ask several about one video)")
      ->required();
  sub.add_option("--device", a->device, "cpu, cuda or cuda:N (default: cuda when available)");
  vamba::cli::add_video_sampling_options(sub, &a->sampling);
  sub.add_option("--max-new-tokens", a->ask.max_new_tokens, "Answer length limit")
      ->check(CLI::PositiveNumber);
  sub.add_option("--temperature", a->ask.temperature, "0 = greedy")->check(CLI::NonNegativeNumber);
  sub.add_option("--top-p", a->ask.top_p, "Nucleus sampling")->check(CLI::Range(0.0, 1.0));
  sub.add_option("--top-k", a->ask.top_k, "Top-k sampling (0: off)");
  sub.add_option("--seed", a->ask.seed, "Sampler seed");
  sub.add_option("--stop", a->ask.stop_strings, "Stop string (repeatable)");
  sub.add_option("--decode-workers", a->decode_workers,
                 "Decoders at work at once on a file (0: one per core)")
      ->check(CLI::NonNegativeNumber);
  sub.add_option("--video-memory-mb", a->video_memory_mb,
                 "Device memory the video may take, MiB (0: what is free); over it, the video is "
                 "refused before decoding")
      ->check(CLI::NonNegativeNumber);
  sub.add_flag("--fast-seek", a->fast_seek,
               "Take the keyframe at or before each sampled time (at most one GOP early) instead "
               "of decoding up to the exact frame: far faster on long videos");
  sub.add_flag("--json", a->json, "Print one JSON object per answer (with timings)");
  sub.add_option("--kv-store", a->kv_store,
                 "Video cross-attention K/V store: bf16 (the activation dtype, exact) or fp8 "
                 "(e4m3 with block scales: half the memory, for longer videos)")
      ->capture_default_str();
  return [a] { return run_ask(*a); };
}

const bool registered = vamba::cli::register_command(
    {"ask", "Answer questions about a video (streams the answer)", &setup_ask});

}  // namespace
