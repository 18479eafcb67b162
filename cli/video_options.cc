#include "cli/video_options.h"

#include <iostream>
#include <iterator>

namespace vamba::cli {

void add_video_sampling_options(CLI::App& sub, VideoSamplingArgs* args) {
  sub.add_option("--frames", args->frames, "Frames sampled uniformly (Vamba's middle sampler)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  sub.add_option("--fps", args->fps, "Sample at this rate instead of --frames")
      ->check(CLI::PositiveNumber);
  sub.add_option("--max-frames", args->max_frames, "Cap on frames with --fps (0: none)")
      ->check(CLI::NonNegativeNumber);
  sub.add_option("--start", args->start, "Start of the time range, seconds")
      ->check(CLI::NonNegativeNumber);
  sub.add_option("--end", args->end, "End of the time range, seconds (default: the end)");
  sub.add_option("--shortest-edge", args->shortest, "Pre-resize: shortest edge (Vamba: 256)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub.add_option("--longest-edge", args->longest, "Pre-resize: longest edge (Vamba: 480)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

vision::SamplingOptions sampling_options(const VideoSamplingArgs& args) {
  vision::SamplingOptions s;
  if (args.fps > 0) {
    s.mode = vision::SampleMode::kFps;
    s.sample_fps = args.fps;
    s.max_frames = args.max_frames;
  } else {
    s.num_frames = args.frames;
  }
  s.start = args.start;
  if (args.end >= 0) s.end = args.end;
  return s;
}

vision::PreResizeOptions pre_resize_options(const VideoSamplingArgs& args) {
  return {args.shortest, args.longest};
}

vision::VideoInputOptions video_input_options(const VideoSamplingArgs& args) {
  vision::VideoInputOptions options;
  options.sampling = sampling_options(args);
  options.pre_resize = pre_resize_options(args);
  return options;
}

std::shared_ptr<std::vector<uint8_t>> read_stdin_bytes() {
  return std::make_shared<std::vector<uint8_t>>(std::istreambuf_iterator<char>(std::cin),
                                                std::istreambuf_iterator<char>());
}

}  // namespace vamba::cli
