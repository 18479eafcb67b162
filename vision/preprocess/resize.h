// Image sizes and resampling exactly as Vamba's reference computes them: the pre-resize rule of
// Vamba's loader, Qwen2-VL's smart_resize, and Pillow's bicubic Image.resize on uint8 — the model
// was trained on PIL's pixels, and the golden tensors were made with it.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/core/status.h"

namespace vamba::vision {

struct ImageSize {
  int height = 0;
  int width = 0;
  bool operator==(const ImageSize&) const = default;
};

// Vamba's get_resize_output_image_size: with aspect = w / h, if w >= h and w > longest:
// w = longest, h = int(w / aspect); elif h > w and h > longest: h = longest, w = int(h * aspect);
// then both are raised to at least `shortest`.
ImageSize pre_resize_size(ImageSize in, int shortest, int longest);

// Qwen2-VL's smart_resize: each side rounded (half to even) to a multiple of `factor`, then scaled
// down (floor) or up (ceil) to keep height * width within [min_pixels, max_pixels].
// INVALID_ARGUMENT for a side below `factor` or an aspect ratio above 200, as the reference raises.
StatusOr<ImageSize> smart_resize(ImageSize in, int factor, int64_t min_pixels, int64_t max_pixels);

// Pillow's Image.resize(size, Image.BICUBIC) on a packed uint8 image (H, W, C): separable, the
// horizontal pass first, each pass rounding to uint8; the filter (a = -0.5) widens by the scale
// when shrinking (antialiasing), taps are normalised per output pixel and applied in 22-bit fixed
// point, as Pillow's Resample.c does. Bit-exact with Pillow.
StatusOr<std::vector<uint8_t>> resize_bicubic_pil(const uint8_t* src, ImageSize in, int channels,
                                                  ImageSize out);

}  // namespace vamba::vision
