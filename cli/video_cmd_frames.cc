// vamba frames: probe a video (file, URL or RTSP stream), show which frames the sampler picks and
// when they are shown, and optionally write them as PPM images — the first check when a video
// answers strangely.
#include <cstdio>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/command.h"
#include "vision/decode/video_decoder.h"
#include "vision/preprocess/video_processor.h"
#include "vision/sample/frame_sampler.h"

namespace {

struct FramesArgs {
  std::string source;
  int64_t frames = 8;
  double fps = 0;  // > 0: the fps sampler instead of the uniform one
  int64_t max_frames = 0;
  double start = 0;
  double end = std::numeric_limits<double>::infinity();
  std::string dump_dir;
  int shortest = 0;  // > 0 with longest: pre-resize before dumping
  int longest = 0;
  double timeout_s = 10;
};

bool write_ppm(const std::string& path, const vamba::vision::VideoFrame& frame) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  std::fprintf(f, "P6\n%d %d\n255\n", frame.width, frame.height);
  const bool ok = std::fwrite(frame.rgb.data(), 1, frame.rgb.size(), f) == frame.rgb.size();
  return std::fclose(f) == 0 && ok;
}

vamba::cli::RunFn setup_frames(CLI::App& sub) {
  auto args = std::make_shared<FramesArgs>();
  sub.add_option("source", args->source, "Video file, http(s):// or rtsp:// URL")->required();
  sub.add_option("-n,--frames", args->frames, "Frames for the uniform (middle) sampler");
  sub.add_option("--fps", args->fps, "Sample at this rate instead (Vamba's fps sampler)");
  sub.add_option("--max-frames", args->max_frames, "Cap for the fps sampler (0: none)");
  sub.add_option("--start", args->start, "Sample only frames shown at or after this time (s)");
  sub.add_option("--end", args->end, "... and before this time (s)");
  sub.add_option("--dump", args->dump_dir, "Write the sampled frames as PPM files here");
  sub.add_option("--shortest", args->shortest, "Pre-resize dumped frames: shortest edge");
  sub.add_option("--longest", args->longest, "Pre-resize dumped frames: longest edge");
  sub.add_option("--timeout", args->timeout_s, "Network connect/read timeout in seconds");
  return [args] {
    namespace v = vamba::vision;
    v::DecodeOptions options;
    options.connect_timeout =
        std::chrono::milliseconds(static_cast<int64_t>(args->timeout_s * 1e3));
    options.read_timeout = options.connect_timeout;
    auto decoder = v::VideoDecoder::open(args->source, options);
    if (!decoder.ok()) return vamba::cli::fail("frames", decoder.status().to_string());
    const v::VideoInfo& info = (*decoder)->info();
    v::SamplingOptions sampling;
    sampling.num_frames = args->frames;
    if (args->fps > 0) {
      sampling.mode = v::SampleMode::kFps;
      sampling.sample_fps = args->fps;
      sampling.max_frames = args->max_frames;
    }
    sampling.start = args->start;
    sampling.end = args->end;
    auto samples = v::sample_frames(info.frame_count, info.fps, sampling);
    if (!samples.ok()) return vamba::cli::fail("frames", samples.status().to_string(), 2);

    nlohmann::json out;
    out["source"] = args->source;
    out["container"] = info.container;
    out["codec"] = info.codec;
    out["width"] = info.width;
    out["height"] = info.height;
    out["rotation"] = info.rotation;
    out["fps"] = info.fps;
    out["fps_rational"] = std::to_string(info.fps_num) + "/" + std::to_string(info.fps_den);
    out["duration"] = info.duration;
    out["frame_count"] = info.frame_count;
    out["frame_count_estimated"] = info.frame_count_estimated;
    nlohmann::json picked = nlohmann::json::array();
    std::vector<int64_t> indices;
    for (const auto& s : *samples) {
      picked.push_back({{"index", s.index}, {"timestamp", s.timestamp}});
      indices.push_back(s.index);
    }
    out["samples"] = picked;

    if (!args->dump_dir.empty()) {
      const bool resize = args->shortest > 0 && args->longest >= args->shortest;
      const vamba::Status status =
          (*decoder)->visit_indices(indices, [&](size_t position, v::VideoFrame&& frame) {
            v::VideoFrame image = std::move(frame);
            if (resize) {
              std::vector<v::VideoFrame> one;
              one.push_back(std::move(image));
              auto resized = v::pre_resize_frames(one, {args->shortest, args->longest});
              if (!resized.ok()) return resized.status();
              image = std::move((*resized)[0]);
            }
            char name[64];
            std::snprintf(name, sizeof(name), "/frame_%03zu_%06lld.ppm", position,
                          static_cast<long long>(image.index));
            if (!write_ppm(args->dump_dir + name, image)) {
              return vamba::Status(vamba::StatusCode::kUnavailable,
                                   "cannot write " + args->dump_dir + name);
            }
            return vamba::ok_status();
          });
      if (!status.ok()) return vamba::cli::fail("frames", status.to_string());
      out["dumped_to"] = args->dump_dir;
    }
    const auto& stats = (*decoder)->stats();
    out["frames_decoded"] = stats.frames_decoded;
    out["seeks"] = stats.seeks;
    std::cout << out.dump(2) << "\n";
    return 0;
  };
}

const bool registered = vamba::cli::register_command(
    {"frames", "Probe a video and show (or dump) the frames the sampler picks", &setup_frames});

}  // namespace
