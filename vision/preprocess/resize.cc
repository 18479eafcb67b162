#include "vision/preprocess/resize.h"

#include <algorithm>
#include <cfenv>
#include <cmath>
#include <string>

namespace vamba::vision {
namespace {

// Python's round(): nearest, ties to even.
double py_round(double x) {
  const int saved = std::fegetround();
  std::fesetround(FE_TONEAREST);
  const double r = std::nearbyint(x);
  std::fesetround(saved);
  return r;
}

// Pillow's fixed point: 32 bits less 8 for the pixel and 2 for overshoot of negative lobes.
constexpr int kPrecisionBits = 32 - 8 - 2;

double bicubic(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

// Per output pixel: the first input pixel and the fixed-point taps over the filter's support.
struct Taps {
  int ksize = 0;
  std::vector<int> first;  // (out)
  std::vector<int> count;  // (out)
  std::vector<int32_t> k;  // (out, ksize)
};

Taps compute_taps(int in_size, int out_size) {
  constexpr double kSupport = 2.0;  // bicubic
  const double scale = static_cast<double>(static_cast<float>(in_size)) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = kSupport * filterscale;
  Taps taps;
  taps.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  taps.first.resize(out_size);
  taps.count.resize(out_size);
  taps.k.assign(static_cast<size_t>(out_size) * taps.ksize, 0);
  std::vector<double> w(taps.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    // C casts truncate toward zero; that is the rounding Pillow gets, negatives clamp to 0 below.
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      w[x] = bicubic((x + xmin - center + 0.5) * ss);
      ww += w[x];
    }
    int32_t* k = &taps.k[static_cast<size_t>(xx) * taps.ksize];
    for (int x = 0; x < xmax; ++x) {
      const double v = ww != 0.0 ? w[x] / ww : w[x];
      k[x] = v < 0 ? static_cast<int32_t>(-0.5 + v * (1 << kPrecisionBits))
                   : static_cast<int32_t>(0.5 + v * (1 << kPrecisionBits));
    }
    taps.first[xx] = xmin;
    taps.count[xx] = xmax;
  }
  return taps;
}

inline uint8_t clip8(int32_t acc) {
  const int32_t v = acc >> kPrecisionBits;  // arithmetic shift (C++20)
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

// Rows [row0, row0 + rows) of src (width in_w) resampled horizontally to out_w.
void horizontal_pass(const uint8_t* src, int in_w, int channels, int row0, int rows,
                     const Taps& taps, int out_w, uint8_t* dst) {
  const size_t in_stride = static_cast<size_t>(in_w) * channels;
  const size_t out_stride = static_cast<size_t>(out_w) * channels;
  for (int y = 0; y < rows; ++y) {
    const uint8_t* in = src + static_cast<size_t>(row0 + y) * in_stride;
    uint8_t* out = dst + static_cast<size_t>(y) * out_stride;
    for (int xx = 0; xx < out_w; ++xx) {
      const int32_t* k = &taps.k[static_cast<size_t>(xx) * taps.ksize];
      const uint8_t* p = in + static_cast<size_t>(taps.first[xx]) * channels;
      for (int c = 0; c < channels; ++c) {
        int32_t acc = 1 << (kPrecisionBits - 1);
        for (int x = 0; x < taps.count[xx]; ++x) acc += p[x * channels + c] * k[x];
        out[xx * channels + c] = clip8(acc);
      }
    }
  }
}

// src holds rows [row0, ...) of the image; the taps' first rows are absolute. Integer sums are
// exact, so accumulating a whole row per tap (cache-friendly) gives Pillow's bytes.
void vertical_pass(const uint8_t* src, int width, int channels, int row0, const Taps& taps,
                   int out_h, uint8_t* dst) {
  const size_t stride = static_cast<size_t>(width) * channels;
  std::vector<int32_t> acc(stride);
  for (int yy = 0; yy < out_h; ++yy) {
    const int32_t* k = &taps.k[static_cast<size_t>(yy) * taps.ksize];
    const uint8_t* base = src + static_cast<size_t>(taps.first[yy] - row0) * stride;
    std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
    for (int y = 0; y < taps.count[yy]; ++y) {
      const uint8_t* row = base + static_cast<size_t>(y) * stride;
      const int32_t ky = k[y];
      for (size_t i = 0; i < stride; ++i) acc[i] += row[i] * ky;
    }
    uint8_t* out = dst + static_cast<size_t>(yy) * stride;
    for (size_t i = 0; i < stride; ++i) out[i] = clip8(acc[i]);
  }
}

}  // namespace

ImageSize pre_resize_size(ImageSize in, int shortest, int longest) {
  double w = in.width;
  double h = in.height;
  const double aspect = w / h;
  if (w >= h && w > longest) {
    w = longest;
    h = std::trunc(w / aspect);
  } else if (h > w && h > longest) {
    h = longest;
    w = std::trunc(h * aspect);
  }
  h = std::max<double>(h, shortest);
  w = std::max<double>(w, shortest);
  return {static_cast<int>(h), static_cast<int>(w)};
}

StatusOr<ImageSize> smart_resize(ImageSize in, int factor, int64_t min_pixels, int64_t max_pixels) {
  const double height = in.height;
  const double width = in.width;
  if (in.height < factor || in.width < factor) {
    return invalid_argument("image " + std::to_string(in.height) + "x" + std::to_string(in.width) +
                            " is smaller than the patch factor " + std::to_string(factor));
  }
  if (std::max(height, width) / std::min(height, width) > 200) {
    return invalid_argument("image aspect ratio above 200: " + std::to_string(in.height) + "x" +
                            std::to_string(in.width));
  }
  double h_bar = py_round(height / factor) * factor;
  double w_bar = py_round(width / factor) * factor;
  if (h_bar * w_bar > static_cast<double>(max_pixels)) {
    const double beta = std::sqrt((height * width) / static_cast<double>(max_pixels));
    h_bar = std::floor(height / beta / factor) * factor;
    w_bar = std::floor(width / beta / factor) * factor;
  } else if (h_bar * w_bar < static_cast<double>(min_pixels)) {
    const double beta = std::sqrt(static_cast<double>(min_pixels) / (height * width));
    h_bar = std::ceil(height * beta / factor) * factor;
    w_bar = std::ceil(width * beta / factor) * factor;
  }
  return ImageSize{static_cast<int>(h_bar), static_cast<int>(w_bar)};
}

StatusOr<std::vector<uint8_t>> resize_bicubic_pil(const uint8_t* src, ImageSize in, int channels,
                                                  ImageSize out) {
  if (in.height <= 0 || in.width <= 0 || out.height <= 0 || out.width <= 0 || channels <= 0) {
    return invalid_argument("resize from " + std::to_string(in.height) + "x" +
                            std::to_string(in.width) + " to " + std::to_string(out.height) + "x" +
                            std::to_string(out.width) + ": sizes must be positive");
  }
  const bool need_h = out.width != in.width;
  const bool need_v = out.height != in.height;
  if (!need_h && !need_v) {
    return std::vector<uint8_t>(src, src + static_cast<size_t>(in.height) * in.width * channels);
  }
  const Taps vtaps = compute_taps(in.height, out.height);
  // Only the rows the vertical pass reads need a horizontal pass.
  const int row_first = vtaps.first[0];
  const int row_last = vtaps.first[out.height - 1] + vtaps.count[out.height - 1];

  std::vector<uint8_t> temp;
  const uint8_t* mid = src;
  int mid_row0 = 0;
  int mid_width = in.width;
  if (need_h) {
    const Taps htaps = compute_taps(in.width, out.width);
    const int rows = need_v ? row_last - row_first : in.height;
    const int row0 = need_v ? row_first : 0;
    temp.resize(static_cast<size_t>(rows) * out.width * channels);
    horizontal_pass(src, in.width, channels, row0, rows, htaps, out.width, temp.data());
    if (!need_v) return temp;
    mid = temp.data();
    mid_row0 = row0;
    mid_width = out.width;
  }
  std::vector<uint8_t> result(static_cast<size_t>(out.height) * mid_width * channels);
  vertical_pass(mid, mid_width, channels, mid_row0, vtaps, out.height, result.data());
  return result;
}

}  // namespace vamba::vision
