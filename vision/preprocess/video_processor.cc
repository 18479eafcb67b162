#include "vision/preprocess/video_processor.h"

#include <array>
#include <string>

namespace vamba::vision {

StatusOr<std::vector<VideoFrame>> pre_resize_frames(const std::vector<VideoFrame>& frames,
                                                    const PreResizeOptions& options) {
  if (options.shortest <= 0 || options.longest < options.shortest) {
    return invalid_argument("pre-resize needs 0 < shortest <= longest, got " +
                            std::to_string(options.shortest) + " / " +
                            std::to_string(options.longest));
  }
  std::vector<VideoFrame> out;
  out.reserve(frames.size());
  for (const VideoFrame& frame : frames) {
    const ImageSize in{frame.height, frame.width};
    if (frame.rgb.size() != static_cast<size_t>(in.height) * in.width * 3) {
      return invalid_argument("frame " + std::to_string(frame.index) + " holds " +
                              std::to_string(frame.rgb.size()) + " bytes, not height*width*3");
    }
    const ImageSize size = pre_resize_size(in, options.shortest, options.longest);
    VideoFrame resized;
    resized.index = frame.index;
    resized.timestamp = frame.timestamp;
    resized.width = size.width;
    resized.height = size.height;
    VAMBA_ASSIGN_OR_RETURN(resized.rgb, resize_bicubic_pil(frame.rgb.data(), in, 3, size));
    out.push_back(std::move(resized));
  }
  return out;
}

StatusOr<VideoPatches> process_video(const std::vector<VideoFrame>& frames,
                                     const PreprocessorConfig& config) {
  constexpr int kChannels = 3;
  const int tp = config.temporal_patch_size;
  const int patch = config.patch_size;
  const int merge = config.merge_size;
  if (tp <= 0 || patch <= 0 || merge <= 0) {
    return invalid_argument("preprocessor patch sizes must be positive");
  }
  const int64_t used = static_cast<int64_t>(frames.size()) / tp * tp;
  if (used == 0) {
    return invalid_argument("a video needs at least " + std::to_string(tp) + " frames, got " +
                            std::to_string(frames.size()));
  }
  const ImageSize in{frames[0].height, frames[0].width};
  for (int64_t f = 0; f < used; ++f) {
    const VideoFrame& frame = frames[f];
    if (frame.height != in.height || frame.width != in.width ||
        frame.rgb.size() != static_cast<size_t>(in.height) * in.width * kChannels) {
      return invalid_argument("video frames differ in size or hold the wrong number of bytes");
    }
  }

  ImageSize size = in;
  const int factor = patch * merge;
  if (config.do_resize) {
    VAMBA_ASSIGN_OR_RETURN(size, smart_resize(in, factor, config.min_pixels, config.max_pixels));
  } else if (in.height % factor != 0 || in.width % factor != 0) {
    return invalid_argument("without resizing, frames must be multiples of " +
                            std::to_string(factor) + " on each side");
  }

  // Per channel, the processor's arithmetic for every uint8 value: rescale in double then round
  // to float (numpy's astype(float32)), normalise in float32.
  std::array<std::array<float, 256>, kChannels> lut;
  for (int c = 0; c < kChannels; ++c) {
    const float mean = static_cast<float>(config.image_mean[c]);
    const float std_dev = static_cast<float>(config.image_std[c]);
    for (int v = 0; v < 256; ++v) {
      float x = config.do_rescale
                    ? static_cast<float>(static_cast<double>(v) * config.rescale_factor)
                    : static_cast<float>(v);
      if (config.do_normalize) {
        const float centred = x - mean;
        x = centred / std_dev;
      }
      lut[c][v] = x;
    }
  }

  VideoPatches out;
  out.frame_size = size;
  out.grid_t = used / tp;
  out.grid_h = size.height / patch;
  out.grid_w = size.width / patch;
  const int64_t cols = static_cast<int64_t>(kChannels) * tp * patch * patch;
  VAMBA_ASSIGN_OR_RETURN(out.pixel_values, Tensor::empty({out.num_patches(), cols}, DType::kF32));
  float* dst = out.pixel_values.data<float>();  // (rows, cols)

  const int64_t blocks_h = out.grid_h / merge;
  const int64_t blocks_w = out.grid_w / merge;
  std::vector<std::vector<uint8_t>> group(tp);  // the frames of one time step, resized
  for (int64_t t = 0; t < out.grid_t; ++t) {
    for (int k = 0; k < tp; ++k) {
      const VideoFrame& frame = frames[t * tp + k];
      out.timestamps.push_back(frame.timestamp);
      VAMBA_ASSIGN_OR_RETURN(group[k], resize_bicubic_pil(frame.rgb.data(), in, kChannels, size));
    }
    for (int64_t bh = 0; bh < blocks_h; ++bh) {
      for (int64_t bw = 0; bw < blocks_w; ++bw) {
        for (int ih = 0; ih < merge; ++ih) {
          for (int iw = 0; iw < merge; ++iw) {
            const int64_t row =
                ((t * blocks_h + bh) * blocks_w + bw) * merge * merge + ih * merge + iw;
            float* r = dst + row * cols;
            const int64_t y0 = (bh * merge + ih) * patch;
            const int64_t x0 = (bw * merge + iw) * patch;
            for (int c = 0; c < kChannels; ++c) {
              for (int k = 0; k < tp; ++k) {
                const uint8_t* img = group[k].data();
                for (int py = 0; py < patch; ++py) {
                  const uint8_t* line = img + ((y0 + py) * size.width + x0) * kChannels + c;
                  for (int px = 0; px < patch; ++px) *r++ = lut[c][line[px * kChannels]];
                }
              }
            }
          }
        }
      }
    }
  }
  return out;
}

}  // namespace vamba::vision
