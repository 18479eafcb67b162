// vamba caption: caption many videos into a JSON-lines file, one line per video, resumable and
// shardable (pipelines/batch_caption.h, pipelines/jsonl_output.h, pipelines/caption_inputs.h).
//
//   vamba caption --model DIR --input DIR|LIST.txt|GLOB --out captions.jsonl [--segment 30s]
//       [--prompt TEXT] [--frames N | --fps F] [--device cpu|cuda] [--shard I/N]
//
// Exit status: 0 when every video of this shard has a caption line, 1 when some have error lines
// (a summary line "N of M videos failed" says how many), 2 for bad arguments or input.
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <iostream>
#include <set>
#include <unordered_set>

#include "cli/command.h"
#include "cli/video_options.h"
#include "pipelines/batch_caption.h"
#include "pipelines/caption_inputs.h"
#include "pipelines/duration_arg.h"
#include "pipelines/jsonl_output.h"
#include "pipelines/progress.h"

namespace {

namespace pl = vamba::pipelines;

struct CaptionArgs {
  std::string model;
  std::string input;
  std::string out;
  std::string segment = "30s";
  std::string prompt = pl::kDefaultCaptionPrompt;
  std::string device;
  std::string shard = "1/1";
  std::string progress_every = "10s";
  vamba::cli::VideoSamplingArgs sampling;
  pl::AskOptions ask;
  size_t prefetch = 4;
  CaptionArgs() {
    sampling.frames = 32;  // per segment
    ask.max_new_tokens = 256;
  }
};

int run_caption(const CaptionArgs& a) {
  const char* cmd = "caption";
  auto segment_s = pl::parse_duration_seconds(a.segment);
  if (!segment_s.ok() || *segment_s <= 0) {
    return vamba::cli::fail(cmd,
                            "--segment: " + (segment_s.ok() ? std::string("must be positive")
                                                            : segment_s.status().message()),
                            2);
  }
  auto progress_every = pl::parse_duration_seconds(a.progress_every);
  if (!progress_every.ok()) return vamba::cli::fail(cmd, progress_every.status().message(), 2);
  auto shard = pl::parse_shard(a.shard);
  if (!shard.ok()) return vamba::cli::fail(cmd, shard.status().message(), 2);
  if (a.sampling.start != 0 || a.sampling.end >= 0) {
    return vamba::cli::fail(cmd, "--start/--end are not used by caption (whole videos)", 2);
  }
  auto all = pl::list_caption_inputs(a.input);
  if (!all.ok()) return vamba::cli::fail(cmd, all.status().message(), 2);
  const std::vector<std::string> mine = pl::shard_paths(*all, *shard);

  // What earlier runs (of this shard, or any sharing the file) already wrote.
  auto out = pl::JsonlOutput::open(a.out);
  if (!out.ok()) return vamba::cli::fail(cmd, out.status().to_string());
  std::unordered_set<std::string> done, failed;
  for (const nlohmann::json& line : (*out)->existing()) {
    auto path = line.find("path");
    if (path == line.end() || !path->is_string()) continue;
    done.insert(path->get<std::string>());
    if (line.contains("error")) failed.insert(path->get<std::string>());
  }
  std::vector<std::string> todo;
  int64_t failed_before = 0;
  for (const auto& p : mine) {
    if (!done.count(p)) {
      todo.push_back(p);
    } else if (failed.count(p)) {
      ++failed_before;
    }
  }
  std::cerr << "caption: " << all->size() << " videos in the input, " << mine.size() << " in shard "
            << shard->index << "/" << shard->count << ", " << (mine.size() - todo.size())
            << " already in " << a.out << ", " << todo.size() << " to do\n";

  int64_t failed_now = 0;
  if (!todo.empty()) {
    std::string device_name = a.device;
    if (device_name.empty()) device_name = vamba::cuda::available() ? "cuda" : "cpu";
    auto device = vamba::parse_device(device_name);
    if (!device.ok()) return vamba::cli::fail(cmd, device.status().message(), 2);
    auto qa = pl::VideoQa::load(a.model, *device);
    if (!qa.ok()) return vamba::cli::fail(cmd, qa.status().to_string());

    pl::BatchCaptionOptions options;
    options.segment_s = *segment_s;
    options.prompt = a.prompt;
    options.sampling = vamba::cli::sampling_options(a.sampling);
    options.pre_resize = vamba::cli::pre_resize_options(a.sampling);
    options.ask = a.ask;
    options.prefetch_segments = a.prefetch;
    pl::Progress progress(static_cast<int64_t>(todo.size()), isatty(STDERR_FILENO) == 1,
                          *progress_every);
    vamba::Status write_error;
    const vamba::Status st =
        pl::caption_videos(**qa, todo, options,
                           [&](const nlohmann::json& record, bool is_error, double video_seconds) {
                             if (!write_error.ok()) return;
                             write_error = (*out)->append(record);
                             if (is_error) ++failed_now;
                             progress.video_done(is_error, video_seconds);
                           });
    progress.finish();
    if (!write_error.ok()) return vamba::cli::fail(cmd, write_error.to_string());
    if (!st.ok()) return vamba::cli::fail(cmd, st.to_string());
  }
  const int64_t failed_total = failed_before + failed_now;
  if (failed_total > 0) {
    std::cerr << failed_total << " of " << mine.size() << " videos failed (error lines in " << a.out
              << ")\n";
    return 1;
  }
  std::cerr << "0 of " << mine.size() << " videos failed\n";
  return 0;
}

vamba::cli::RunFn setup_caption(CLI::App& sub) {
  auto a = std::make_shared<CaptionArgs>();
  sub.add_option("--model", a->model, "Checkpoint folder")->required();
  sub.add_option("--input", a->input,
                 "A folder (searched recursively), a list file (.txt: one path per line) or a "
                 "glob pattern")
      ->required();
  sub.add_option("--out", a->out,
                 "JSON-lines output; appended to, and re-running skips the videos already in it")
      ->required();
  sub.add_option("--segment", a->segment, "Segment length (30s, 2m, ...)")->capture_default_str();
  sub.add_option("--prompt", a->prompt, "What the model is asked for each segment")
      ->capture_default_str();
  sub.add_option("--device", a->device, "cpu, cuda or cuda:N (default: cuda when available)");
  sub.add_option("--shard", a->shard,
                 "I/N: caption only the I-th of N shards (stable hash of the path), 1-based")
      ->capture_default_str();
  vamba::cli::add_video_sampling_options(sub, &a->sampling);
  sub.add_option("--max-new-tokens", a->ask.max_new_tokens, "Caption length limit (tokens)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub.add_option("--prefetch", a->prefetch,
                 "Preprocessed segments decoded ahead of the model (bounds memory)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  sub.add_option("--progress-every", a->progress_every,
                 "Interval of the progress lines when stderr is not a terminal")
      ->capture_default_str();
  return [a] { return run_caption(*a); };
}

const bool registered = vamba::cli::register_command(
    {"caption", "Caption many videos into JSON lines (resumable, shardable)", &setup_caption});

}  // namespace
