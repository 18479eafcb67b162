// vamba preprocess --video PATH|URL|- --out FILE.safetensors [--model DIR]
//                  [--frames N | --fps F --max-frames M] [--start S --end E]
//                  [--shortest-edge S --longest-edge L]
// The video input path on its own, with the options and code of `vamba ask` (load_video_input):
// what the vision tower would be given, written as one safetensors file, so a video can be
// checked against the reference or fed to `vamba forward` later. Tensors (names as in the golden
// data):
//   frames_rgb          u8  (T, H, W, 3)  every sampled frame after the loader's pre-resize
//   frame_indices       i64 (T)           frame numbers the sampler picked
//   timestamps          f64 (T)           index / fps in seconds (f64: a 10-hour video at 60 fps
//                                         still resolves single frames exactly)
//   frame_timestamps    f64 (T)           the same values under the golden data's name
//   pixel_values_videos f32 (rows, C·2·P·P) the processor's output (an odd last frame dropped)
//   video_grid_thw      i64 (1, 3)        (temporal pairs, patch rows, patch columns)
// The processor settings come from DIR/preprocessor_config.json with --model DIR; otherwise
// Qwen2-VL's defaults (min_pixels 3136, max_pixels 1003520, patch 14, temporal patch 2, merge 2,
// CLIP mean/std), which Vamba-Qwen2-VL ships unchanged. The file is written atomically: on any
// error nothing is left at --out.
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>

#include "cli/command.h"
#include "cli/video_options.h"
#include "engine/model/safetensors.h"
#include "vision/decode/video_decoder.h"
#include "vision/preprocess/video_input.h"

namespace {

using vamba::DType;
using vamba::Status;
using vamba::StatusOr;
using vamba::Tensor;
namespace vision = vamba::vision;

struct PreprocessArgs {
  std::string video;
  std::string out;
  std::string model;
  vamba::cli::VideoSamplingArgs sampling;
  double timeout_s = 10;
};

// The processor settings: the checkpoint's file, or Qwen2-VL's defaults without --model.
StatusOr<vamba::PreprocessorConfig> preprocessor_config(const std::string& model_dir,
                                                        std::string* origin) {
  if (model_dir.empty()) {
    *origin = "qwen2-vl defaults";
    return vamba::PreprocessorConfig{};
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(model_dir, ec)) {
    return vamba::not_found("--model " + model_dir + ": no such folder");
  }
  const std::string path = model_dir + "/preprocessor_config.json";
  if (!std::filesystem::is_regular_file(path, ec)) {
    return vamba::not_found(path + ": missing (leave out --model to use Qwen2-VL's defaults)");
  }
  *origin = path;
  return vamba::PreprocessorConfig::from_file(path);
}

// The sampled frames as one (T, H, W, 3) block; the pre-resize makes them all one size.
StatusOr<Tensor> stack_frames(const std::vector<vision::VideoFrame>& frames) {
  if (frames.empty()) return vamba::invalid_argument("no frames were sampled");
  const int64_t h = frames[0].height, w = frames[0].width;
  const size_t bytes = static_cast<size_t>(h * w * 3);
  VAMBA_ASSIGN_OR_RETURN(Tensor t,
                         Tensor::empty({static_cast<int64_t>(frames.size()), h, w, 3}, DType::kU8));
  for (size_t i = 0; i < frames.size(); ++i) {
    if (frames[i].height != h || frames[i].width != w || frames[i].rgb.size() != bytes) {
      return vamba::invalid_argument("sampled frames differ in size");
    }
    std::memcpy(t.data<uint8_t>() + i * bytes, frames[i].rgb.data(), bytes);
  }
  return t;
}

Status run_preprocess(const PreprocessArgs& a) {
  // Fail before the (possibly long) decode when the output cannot be written at all.
  const std::filesystem::path out_dir =
      std::filesystem::absolute(std::filesystem::path(a.out)).parent_path();
  std::error_code ec;
  if (!std::filesystem::is_directory(out_dir, ec)) {
    return vamba::invalid_argument("--out " + a.out + ": folder " + out_dir.string() +
                                   " does not exist");
  }
  std::string origin;
  VAMBA_ASSIGN_OR_RETURN(vamba::PreprocessorConfig config, preprocessor_config(a.model, &origin));

  vision::DecodeOptions decode;
  decode.connect_timeout = std::chrono::milliseconds(static_cast<int64_t>(a.timeout_s * 1e3));
  decode.read_timeout = decode.connect_timeout;
  std::unique_ptr<vision::VideoDecoder> decoder;
  if (a.video == "-") {
    VAMBA_ASSIGN_OR_RETURN(
        decoder, vision::VideoDecoder::open_memory(vamba::cli::read_stdin_bytes(), decode));
  } else {
    VAMBA_ASSIGN_OR_RETURN(decoder, vision::VideoDecoder::open(a.video, decode));
  }
  vision::VideoInputOptions options = vamba::cli::video_input_options(a.sampling);
  options.keep_frames = true;
  VAMBA_ASSIGN_OR_RETURN(vision::VideoInput input,
                         vision::load_video_input(*decoder, options, config));

  const int64_t n = static_cast<int64_t>(input.samples.size());
  VAMBA_ASSIGN_OR_RETURN(Tensor frames_rgb, stack_frames(input.frames));
  VAMBA_ASSIGN_OR_RETURN(Tensor indices, Tensor::empty({n}, DType::kI64));
  VAMBA_ASSIGN_OR_RETURN(Tensor timestamps, Tensor::empty({n}, DType::kF64));
  for (int64_t i = 0; i < n; ++i) {
    indices.data<int64_t>()[i] = input.samples[i].index;
    timestamps.data<double>()[i] = input.samples[i].timestamp;
  }
  const vision::VideoPatches& p = input.patches;
  VAMBA_ASSIGN_OR_RETURN(Tensor grid, Tensor::from_int64({1, 3}, {p.grid_t, p.grid_h, p.grid_w}));

  const vision::VideoInfo& info = input.info;
  VAMBA_RETURN_IF_ERROR(vamba::write_safetensors(
      a.out,
      {{"frames_rgb", frames_rgb},
       {"frame_indices", indices},
       {"timestamps", timestamps},
       {"frame_timestamps", timestamps},
       {"pixel_values_videos", p.pixel_values},
       {"video_grid_thw", grid}},
      {{"source", a.video == "-" ? "<stdin>" : a.video},
       {"video_fps", std::to_string(info.fps)},
       {"video_frame_count", std::to_string(info.frame_count)},
       {"video_size", std::to_string(info.width) + "x" + std::to_string(info.height)},
       {"pre_resize",
        std::to_string(a.sampling.shortest) + "/" + std::to_string(a.sampling.longest)},
       {"preprocessor", origin}}));
  std::cerr << "preprocess: " << n << " frames of " << info.width << "x" << info.height << " -> "
            << frames_rgb.dim(2) << "x" << frames_rgb.dim(1) << " -> pixel_values_videos "
            << p.pixel_values.describe() << ", grid (" << p.grid_t << ", " << p.grid_h << ", "
            << p.grid_w << ") -> " << a.out << "\n";
  return vamba::ok_status();
}

vamba::cli::RunFn setup_preprocess(CLI::App& sub) {
  auto a = std::make_shared<PreprocessArgs>();
  sub.add_option("--video", a->video, "Video file, URL (http, rtsp, ...) or - for stdin")
      ->required();
  sub.add_option("--out", a->out,
                 "safetensors to write: frames_rgb, frame_indices, timestamps (also as "
                 "frame_timestamps), "
                 "pixel_values_videos, video_grid_thw")
      ->required();
  sub.add_option("--model", a->model,
                 "Checkpoint folder whose preprocessor_config.json to use (default: Qwen2-VL's "
                 "processor defaults)");
  vamba::cli::add_video_sampling_options(sub, &a->sampling);
  sub.add_option("--timeout", a->timeout_s, "Network connect/read timeout in seconds")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  return [a]() -> int {
    const Status st = run_preprocess(*a);
    if (!st.ok()) {
      const bool usage = st.code() == vamba::StatusCode::kInvalidArgument ||
                         st.code() == vamba::StatusCode::kNotFound ||
                         st.code() == vamba::StatusCode::kOutOfRange;
      return vamba::cli::fail("preprocess", st.to_string(), usage ? 2 : 1);
    }
    return 0;
  };
}

const bool registered = vamba::cli::register_command(
    {"preprocess",
     "Decode, sample and preprocess a video as `ask` does; write the tower's input tensors",
     &setup_preprocess});

}  // namespace
