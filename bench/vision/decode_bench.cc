// decode_bench: our FFmpeg decoder on a long 1080p H.264 clip, decoding every frame versus fetching
// N uniformly sampled frames (Vamba's middle sampler) by seeking to the keyframe before each. The
// clip is made at run time with the ffmpeg CLI (testsrc2, x264 "veryfast" with B-frames and a
// keyframe every --gop frames; --preset to change) in a temporary folder, unless --video names one.
// Frames are converted to RGB (what the processor gets) and dropped; times include opening the
// file. One machine-readable line per case, then a small table:
//   bench=video_decode mode=full frames=1800 s=... frames_per_s=... decoded=1800
//   bench=video_decode mode=sparse sampled=32 s=... frames_per_s=... decoded=... seeks=...
//     x_vs_full=...
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "vision/decode/video_decoder.h"
#include "vision/sample/frame_sampler.h"

namespace vamba::bench {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Args {
  std::string video;  // an existing file instead of a generated clip
  double seconds = 60;
  int fps = 30;
  std::string size = "1920x1080";
  int gop = 60;                     // 2 s at 30 fps: a common streaming/upload keyframe interval
  std::string preset = "veryfast";  // x264 preset: B-frames and CABAC, like real uploads
  std::string pattern = "testsrc2";
  std::vector<int64_t> sampled = {32, 512};
  int threads = 0;  // decoder threads, 0: FFmpeg's choice (one per core)
};

// A temporary folder removed when the benchmark ends.
struct TempDir {
  std::string path;
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "vamba_decode_XXXXXX").string();
    if (mkdtemp(pattern.data())) path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

bool make_clip(const Args& a, const std::string& out) {
  const std::string cmd = "ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i " +
                          a.pattern + "=size=" + a.size + ":rate=" + std::to_string(a.fps) +
                          " -t " + std::to_string(a.seconds) + " -c:v libx264 -preset " + a.preset +
                          " -g " + std::to_string(a.gop) + " -pix_fmt yuv420p \"" + out + "\"";
  fprintf(stderr, "decode_bench: making the clip: %s\n", cmd.c_str());
  return std::system(cmd.c_str()) == 0;
}

struct Result {
  std::string label;
  int64_t frames = 0;  // handed out
  double s = 0;
  int64_t decoded = 0;
  int64_t seeks = 0;
};

StatusOr<Result> full_decode(const std::string& path, const vision::DecodeOptions& options) {
  const double t0 = now_s();
  VAMBA_ASSIGN_OR_RETURN(auto decoder, vision::VideoDecoder::open_file(path, options));
  Result r{"full decode", 0, 0, 0, 0};
  while (true) {
    VAMBA_ASSIGN_OR_RETURN(std::optional<vision::VideoFrame> frame, decoder->next_frame());
    if (!frame) break;
    ++r.frames;
  }
  r.s = now_s() - t0;
  r.decoded = decoder->stats().frames_decoded;
  r.seeks = decoder->stats().seeks;
  return r;
}

StatusOr<Result> sparse_decode(const std::string& path, const vision::DecodeOptions& options,
                               int64_t n) {
  const double t0 = now_s();
  VAMBA_ASSIGN_OR_RETURN(auto decoder, vision::VideoDecoder::open_file(path, options));
  vision::SamplingOptions sampling;
  sampling.num_frames = n;
  VAMBA_ASSIGN_OR_RETURN(
      std::vector<vision::FrameSample> samples,
      vision::sample_frames(decoder->info().frame_count, decoder->info().fps, sampling));
  std::vector<int64_t> indices;
  for (const auto& s : samples) indices.push_back(s.index);
  Result r{"sparse " + std::to_string(n), 0, 0, 0, 0};
  VAMBA_RETURN_IF_ERROR(decoder->visit_indices(indices, [&](size_t, vision::VideoFrame&&) {
    ++r.frames;
    return ok_status();
  }));
  r.s = now_s() - t0;
  r.decoded = decoder->stats().frames_decoded;
  r.seeks = decoder->stats().seeks;
  return r;
}

int run(const Args& a) {
  TempDir tmp;
  std::string path = a.video;
  if (path.empty()) {
    if (tmp.path.empty()) return fprintf(stderr, "decode_bench: no temporary folder\n"), 1;
    path = tmp.path + "/clip.mp4";
    const double t0 = now_s();
    if (!make_clip(a, path)) {
      fprintf(stderr,
              "decode_bench: ffmpeg could not make the clip (is the ffmpeg CLI installed?)\n");
      return 1;
    }
    fprintf(stderr, "decode_bench: clip made in %.1f s\n", now_s() - t0);
  }
  vision::DecodeOptions options;
  options.threads = a.threads;
  {
    auto probe = vision::VideoDecoder::open_file(path, options);
    if (!probe.ok()) return fprintf(stderr, "%s\n", probe.status().to_string().c_str()), 1;
    const auto& info = (*probe)->info();
    fprintf(stderr,
            "decode_bench: %s %dx%d, %lld frames at %.3f fps (%.1f s), %u hardware threads\n",
            info.codec.c_str(), info.width, info.height, (long long)info.frame_count, info.fps,
            info.duration, std::thread::hardware_concurrency());
  }

  auto full = full_decode(path, options);
  if (!full.ok()) return fprintf(stderr, "%s\n", full.status().to_string().c_str()), 1;
  printf("bench=video_decode mode=full frames=%lld s=%.3f frames_per_s=%.1f decoded=%lld\n",
         (long long)full->frames, full->s, full->frames / full->s, (long long)full->decoded);
  fflush(stdout);
  std::vector<Result> results = {*full};
  for (int64_t n : a.sampled) {
    auto r = sparse_decode(path, options, n);
    if (!r.ok()) {
      printf("bench=video_decode mode=sparse sampled=%lld error=\"%s\"\n", (long long)n,
             r.status().to_string().c_str());
      continue;
    }
    printf(
        "bench=video_decode mode=sparse sampled=%lld s=%.3f frames_per_s=%.1f decoded=%lld "
        "seeks=%lld x_vs_full=%.2f\n",
        (long long)n, r->s, r->frames / r->s, (long long)r->decoded, (long long)r->seeks,
        full->s / r->s);
    fflush(stdout);
    results.push_back(*r);
  }

  printf(
      "\n| case | frames out | wall s | frames out/s | frames decoded | seeks | time vs full |\n");
  printf("|---|---:|---:|---:|---:|---:|---:|\n");
  for (const Result& r : results) {
    printf("| %s | %lld | %.2f | %.1f | %lld | %lld | %.3f |\n", r.label.c_str(),
           (long long)r.frames, r.s, r.frames / r.s, (long long)r.decoded, (long long)r.seeks,
           r.s / full->s);
  }
  return 0;
}

}  // namespace
}  // namespace vamba::bench

int main(int argc, char** argv) {
  vamba::bench::Args a;
  CLI::App app{"Video decode: full decode vs sparse sampling on a generated 1080p H.264 clip"};
  app.add_option("--video", a.video, "Use this file instead of generating a clip");
  app.add_option("--seconds", a.seconds, "Length of the generated clip")->capture_default_str();
  app.add_option("--fps", a.fps, "Frame rate of the generated clip")->capture_default_str();
  app.add_option("--size", a.size, "WxH of the generated clip")->capture_default_str();
  app.add_option("--gop", a.gop, "Keyframe interval of the generated clip, frames")
      ->capture_default_str();
  app.add_option("--preset", a.preset, "x264 preset of the generated clip")->capture_default_str();
  app.add_option("--pattern", a.pattern, "lavfi source: testsrc2, mandelbrot, ...")
      ->capture_default_str();
  app.add_option("--sampled", a.sampled, "Sparse cases: frames sampled uniformly")
      ->capture_default_str();
  app.add_option("--threads", a.threads, "Decoder threads (0: FFmpeg's choice)");
  CLI11_PARSE(app, argc, argv);
  return vamba::bench::run(a);
}
