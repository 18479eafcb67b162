// vamba stream: ingest a live video incrementally and write JSON lines to stdout: a caption of
// every --caption-every seconds of stream time, and answers to standing questions every --every.
//
//   ffmpeg -re -i cam.mp4 -f mpegts - | vamba stream --model DIR --source pipe:0 --fps 1
//   vamba stream --model DIR --source rtsp://cam/live --caption-every 30s
//       --ask "Is anyone at the door?" --every 1m --window-tokens 65536
//
// A reader thread decodes, samples (--fps) and preprocesses frame pairs into a small queue; the
// main thread runs the tower on each new pair and appends it to the video state
// (pipelines/stream_ingest.h), so the work per pair stays constant however long the stream runs.
// SIGINT/SIGTERM end the stream cleanly (the unfinished segment is captioned); a second one exits.
#include <signal.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include "cli/command.h"
#include "pipelines/bounded_queue.h"
#include "pipelines/duration_arg.h"
#include "pipelines/frame_pairs.h"
#include "pipelines/stream_ingest.h"
#include "pipelines/stream_source.h"

namespace {

namespace pl = vamba::pipelines;
using vamba::Status;

std::atomic<bool> g_stop{false};

void on_signal(int sig) {
  g_stop.store(true);
  std::signal(sig, SIG_DFL);  // a second signal ends the process at once
}

struct StreamArgs {
  std::string model;
  std::string source;
  std::string device;
  double fps = 1;
  std::string caption_every = "10s";
  std::string prompt;
  std::string caption_context = "segment";
  std::vector<std::string> questions;
  std::string every = "30s";
  int64_t window_tokens = 0;
  int shortest = 256, longest = 480;
  pl::AskOptions ask;
  bool follow = false;
  std::string idle_timeout = "10s";
  std::string read_timeout = "10s";
  int max_reconnects = -1;
  size_t queue = 4;
  StreamArgs() { ask.max_new_tokens = 128; }
};

void print_line(const nlohmann::json& j) {
  const std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);  // one event per line, as it happens: the output feeds other programs
}

double round3(double s) { return std::round(s * 1000.0) / 1000.0; }

// What the reader thread shares with the main thread (owned jointly, so a reader stuck in a
// blocking read can be left behind safely when the main thread gives up).
struct Reader {
  pl::BoundedQueue<pl::FramePair> queue;
  std::shared_ptr<std::atomic<bool>> cancel = std::make_shared<std::atomic<bool>>(false);
  Status error;  // written by the reader before it closes the queue
  int64_t reconnects = 0;
  explicit Reader(size_t capacity) : queue(capacity) {}
};

void read_pairs(std::shared_ptr<Reader> r, std::string source, pl::StreamSourceOptions so,
                double fps, vamba::vision::PreResizeOptions pre, vamba::PreprocessorConfig config) {
  pl::StreamSource src(std::move(source), std::move(so));
  pl::FramePairSampler sampler(fps, pre, std::move(config));
  for (;;) {
    if (g_stop.load()) break;
    auto frame = src.next(sampler.next_time());
    if (!frame.ok()) {
      // Cancelled by a signal: the stream simply ends here.
      if (!(g_stop.load() && frame.status().code() == vamba::StatusCode::kCancelled)) {
        r->error = frame.status();
      }
      break;
    }
    if (!frame->has_value()) break;
    auto pair = sampler.add(std::move(**frame));
    if (!pair.ok()) {
      r->error = pair.status();
      break;
    }
    if (pair->has_value() && !r->queue.push(std::move(**pair))) break;
  }
  r->reconnects = src.reconnects();
  r->queue.close();
}

int run_stream(const StreamArgs& a) {
  const char* cmd = "stream";
  auto caption_every = pl::parse_duration_seconds(a.caption_every);
  auto ask_every = pl::parse_duration_seconds(a.every);
  auto idle = pl::parse_duration_seconds(a.idle_timeout);
  auto read_timeout = pl::parse_duration_seconds(a.read_timeout);
  for (const auto* d : {&caption_every, &ask_every, &idle, &read_timeout}) {
    if (!d->ok()) return vamba::cli::fail(cmd, d->status().message(), 2);
  }
  if (*caption_every > 0 && *caption_every < 2 / a.fps) {
    return vamba::cli::fail(cmd,
                            "--caption-every must cover at least one frame pair (2 / --fps = " +
                                std::to_string(2 / a.fps) + " s)",
                            2);
  }
  if (a.caption_context != "segment" && a.caption_context != "stream") {
    return vamba::cli::fail(cmd, "--caption-context must be segment or stream", 2);
  }
  if (*caption_every == 0 && a.questions.empty()) {
    return vamba::cli::fail(cmd, "nothing to do: --caption-every is 0 and no --ask given", 2);
  }
  std::string device_name = a.device;
  if (device_name.empty()) device_name = vamba::cuda::available() ? "cuda" : "cpu";
  auto device = vamba::parse_device(device_name);
  if (!device.ok()) return vamba::cli::fail(cmd, device.status().message(), 2);
  auto qa = pl::VideoQa::load(a.model, *device);
  if (!qa.ok()) return vamba::cli::fail(cmd, qa.status().to_string());

  pl::StreamIngestOptions options;
  options.caption_every_s = *caption_every;
  options.caption_prompt = a.prompt;
  options.caption_context =
      a.caption_context == "stream" ? pl::CaptionContext::kStream : pl::CaptionContext::kSegment;
  options.questions = a.questions;
  options.ask_every_s = a.questions.empty() ? 0 : *ask_every;
  options.window_tokens = a.window_tokens;
  options.ask = a.ask;
  pl::StreamSink sink;
  sink.on_caption = [](const pl::StreamCaption& c) {
    print_line({{"type", "caption"},
                {"start", round3(c.start)},
                {"end", round3(c.end)},
                {"text", c.answer.text},
                {"frames", c.frames},
                {"video_tokens", c.video_tokens},
                {"finish_reason", c.answer.finish_reason}});
  };
  sink.on_answer = [](const pl::StreamAnswer& q) {
    print_line({{"type", "answer"},
                {"at", round3(q.at)},
                {"question", q.question},
                {"text", q.answer.text},
                {"video_tokens", q.video_tokens},
                {"finish_reason", q.answer.finish_reason}});
  };
  auto ingest = pl::StreamIngest::create(qa->get(), options, sink);
  if (!ingest.ok()) return vamba::cli::fail(cmd, ingest.status().message(), 2);

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  auto reader = std::make_shared<Reader>(a.queue);
  pl::StreamSourceOptions so;
  so.decode.cancel = reader->cancel;
  so.decode.read_timeout = std::chrono::milliseconds(static_cast<int64_t>(*read_timeout * 1000));
  so.follow = a.follow;
  so.idle_timeout_s = *idle;
  so.max_reconnects = a.max_reconnects;
  std::thread reader_thread(read_pairs, reader, a.source, so, a.fps,
                            vamba::vision::PreResizeOptions{a.shortest, a.longest},
                            (*qa)->checkpoint().preprocessor);
  // Signals also reach a reader blocked in FFmpeg through the decode cancel flag.
  std::thread watcher([reader] {
    while (!reader->cancel->load()) {
      if (g_stop.load()) reader->cancel->store(true);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });

  Status failure;
  while (std::optional<pl::FramePair> pair = reader->queue.pop()) {
    failure = (*ingest)->add_pair(*pair);
    if (!failure.ok()) break;
  }
  reader->cancel->store(true);
  reader->queue.close();
  watcher.join();
  if (!failure.ok()) {
    // The reader may sit in a blocking read of a pipe; it owns what it uses, so leave it.
    reader_thread.detach();
    return vamba::cli::fail(cmd, failure.to_string());
  }
  reader_thread.join();
  failure = reader->error;
  const Status finished = (*ingest)->finish();
  if (failure.ok()) failure = finished;
  const pl::StreamStats& st = (*ingest)->stats();
  nlohmann::json end = {
      {"type", "end"},
      {"duration", round3(st.ingested_until)},
      {"frames", st.frames},
      {"pairs", st.pairs},
      {"video_tokens", st.tokens_appended},
      {"video_tokens_held", st.tokens_held},
      {"video_tokens_dropped", st.tokens_dropped},
      {"reconnects", reader->reconnects},
      {"ms_per_pair",
       {{"vision", st.pairs ? round3(st.vision_s * 1e3 / st.pairs) : 0.0},
        {"video_prefill", st.pairs ? round3(st.append_s * 1e3 / st.pairs) : 0.0}}}};
  if (!failure.ok()) end["error"] = failure.to_string();
  print_line(end);
  if (!failure.ok()) return vamba::cli::fail(cmd, failure.to_string());
  return 0;
}

vamba::cli::RunFn setup_stream(CLI::App& sub) {
  auto a = std::make_shared<StreamArgs>();
  sub.add_option("--model", a->model, "Checkpoint folder")->required();
  sub.add_option("--source", a->source,
                 "rtsp://, http(s)://, rtmp://, srt://, udp:// URL; pipe:0 (or -) for stdin; or a "
                 "file (--follow: a growing one)")
      ->required();
  sub.add_option("--device", a->device, "cpu, cuda or cuda:N (default: cuda when available)");
  sub.add_option("--fps", a->fps, "Frames sampled per second of stream time")
      ->check(CLI::Range(0.01, 60.0))
      ->capture_default_str();
  sub.add_option("--caption-every", a->caption_every,
                 "Caption each such span of stream time (0: no captions)")
      ->capture_default_str();
  sub.add_option("--prompt", a->prompt,
                 "Caption question; {start}, {end}, {now} become seconds of stream time");
  sub.add_option("--caption-context", a->caption_context,
                 "segment: captions see only their segment; stream: the whole stream state, with "
                 "a prompt naming the time range")
      ->capture_default_str();
  sub.add_option("--ask", a->questions,
                 "Standing question (repeatable), asked of the whole stream");
  sub.add_option("--every", a->every, "How often the standing questions are answered")
      ->capture_default_str();
  sub.add_option("--window-tokens", a->window_tokens,
                 "Keep at most this many video tokens in cross-attention memory (oldest dropped; "
                 "0: all)")
      ->check(CLI::NonNegativeNumber);
  sub.add_option("--shortest-edge", a->shortest, "Pre-resize: shortest edge")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub.add_option("--longest-edge", a->longest, "Pre-resize: longest edge")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub.add_option("--max-new-tokens", a->ask.max_new_tokens, "Caption / answer length limit")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub.add_flag("--follow", a->follow, "Tail a file that is still being written");
  sub.add_option("--idle-timeout", a->idle_timeout, "--follow: end after this long without growth")
      ->capture_default_str();
  sub.add_option("--read-timeout", a->read_timeout,
                 "Network sources: a read stalled this long counts as a drop (reconnect)")
      ->capture_default_str();
  sub.add_option("--max-reconnects", a->max_reconnects,
                 "Network sources: give up after this many reconnects (-1: never)")
      ->capture_default_str();
  sub.add_option("--queue", a->queue, "Frame pairs decoded ahead of the model, at most")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  return [a] { return run_stream(*a); };
}

const bool registered = vamba::cli::register_command(
    {"stream", "Caption a live video as it arrives (JSON lines on stdout)", &setup_stream});

}  // namespace
