// Options shared by the subcommands that read a video the way the model sees it (`vamba ask`,
// `vamba preprocess`): which frames (--frames, or --fps with --max-frames, within --start/--end),
// the loader's pre-resize (--shortest-edge/--longest-edge), and where the video comes from (a path,
// a URL, or - for stdin). One definition, so both commands sample and resize identically.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vision/preprocess/video_input.h"

namespace vamba::cli {

struct VideoSamplingArgs {
  int64_t frames = 512;  // Vamba's evaluation default
  double fps = 0;        // > 0: the fps sampler instead of --frames
  int64_t max_frames = 0;
  double start = 0;
  double end = -1;     // < 0: to the end of the video
  int shortest = 256;  // Vamba's evaluation pre-resize (img_shortest_edge / img_longest_edge)
  int longest = 480;
};

// Adds --frames, --fps, --max-frames, --start, --end, --shortest-edge, --longest-edge.
void add_video_sampling_options(CLI::App& sub, VideoSamplingArgs* args);

vision::SamplingOptions sampling_options(const VideoSamplingArgs& args);
vision::PreResizeOptions pre_resize_options(const VideoSamplingArgs& args);
// Both, as load_video_input takes them.
vision::VideoInputOptions video_input_options(const VideoSamplingArgs& args);

// The whole of stdin (a piped MP4/MKV/TS file), for a video source given as "-".
std::shared_ptr<std::vector<uint8_t>> read_stdin_bytes();

}  // namespace vamba::cli
