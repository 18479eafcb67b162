#include "vision/sample/scene_detector.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace vamba::vision {
namespace {

Status check_options(const SceneOptions& o) {
  if (!(o.threshold > 0 && o.threshold < 1)) {
    return invalid_argument("scene threshold must be in (0, 1), got " +
                            std::to_string(o.threshold));
  }
  if (o.thumb_size < 1 || o.thumb_size > 256) {
    return invalid_argument("scene thumbnail size must be in [1, 256]");
  }
  if (o.histogram_bins < 2 || o.histogram_bins > 256) {
    return invalid_argument("scene histogram bins must be in [2, 256]");
  }
  return ok_status();
}

}  // namespace

StatusOr<FrameSignature> frame_signature(const VideoFrame& frame, const SceneOptions& options) {
  VAMBA_RETURN_IF_ERROR(check_options(options));
  if (frame.width <= 0 || frame.height <= 0) return invalid_argument("scene detector: empty frame");
  const size_t w = static_cast<size_t>(frame.width), h = static_cast<size_t>(frame.height);
  if (frame.rgb.size() != w * h * 3) {
    return invalid_argument("scene detector: frame buffer of " + std::to_string(frame.rgb.size()) +
                            " bytes does not match " + std::to_string(w) + "x" + std::to_string(h) +
                            " RGB");
  }
  const size_t t = static_cast<size_t>(options.thumb_size);
  const size_t bins = static_cast<size_t>(options.histogram_bins);
  // BT.601 luma in integers (weights 77, 150, 29 out of 256), and its histogram.
  std::vector<uint8_t> luma(w * h);
  std::vector<int64_t> hist(bins, 0);
  for (size_t i = 0; i < w * h; ++i) {
    const uint8_t* p = frame.rgb.data() + i * 3;
    luma[i] = static_cast<uint8_t>((77 * p[0] + 150 * p[1] + 29 * p[2]) >> 8);
    ++hist[static_cast<size_t>(luma[i]) * bins / 256];
  }
  // Each thumbnail cell averages its block of the frame; blocks are at least one pixel, so a frame
  // smaller than the thumbnail repeats pixels instead of leaving cells empty.
  auto block = [](size_t cell, size_t cells, size_t size) {
    const size_t lo = cell * size / cells;
    return std::pair<size_t, size_t>{lo, std::max(lo + 1, (cell + 1) * size / cells)};
  };
  FrameSignature sig;
  sig.timestamp = frame.timestamp;
  sig.thumbnail.resize(t * t);
  for (size_t ty = 0; ty < t; ++ty) {
    const auto [y0, y1] = block(ty, t, h);
    for (size_t tx = 0; tx < t; ++tx) {
      const auto [x0, x1] = block(tx, t, w);
      int64_t sum = 0;
      for (size_t y = y0; y < y1; ++y) {
        for (size_t x = x0; x < x1; ++x) sum += luma[y * w + x];
      }
      const double count = static_cast<double>((y1 - y0) * (x1 - x0));
      sig.thumbnail[ty * t + tx] = static_cast<float>(sum / count / 255.0);
    }
  }
  sig.histogram.resize(bins);
  const double pixels = static_cast<double>(w * h);
  for (size_t b = 0; b < bins; ++b) sig.histogram[b] = static_cast<float>(hist[b] / pixels);
  return sig;
}

double signature_difference(const FrameSignature& a, const FrameSignature& b) {
  const size_t n = std::min(a.thumbnail.size(), b.thumbnail.size());
  double pixels = 0;
  for (size_t i = 0; i < n; ++i) pixels += std::abs(a.thumbnail[i] - b.thumbnail[i]);
  if (n > 0) pixels /= static_cast<double>(n);
  const size_t bins = std::min(a.histogram.size(), b.histogram.size());
  double tv = 0;
  for (size_t i = 0; i < bins; ++i) tv += std::abs(a.histogram[i] - b.histogram[i]);
  tv *= 0.5;  // total variation distance: half the L1 distance of two distributions
  return std::clamp(0.5 * (pixels + tv), 0.0, 1.0);
}

std::vector<SceneCut> detect_scene_cuts(const std::vector<FrameSignature>& signatures,
                                        const SceneOptions& options) {
  std::vector<SceneCut> cuts;
  for (size_t i = 1; i < signatures.size(); ++i) {
    const double d = signature_difference(signatures[i - 1], signatures[i]);
    if (d > options.threshold) cuts.push_back({signatures[i].timestamp, d});
  }
  return cuts;
}

StatusOr<std::vector<SceneCut>> detect_scene_cuts(const std::vector<VideoFrame>& frames,
                                                  const SceneOptions& options) {
  std::vector<FrameSignature> signatures;
  signatures.reserve(frames.size());
  for (const VideoFrame& f : frames) {
    VAMBA_ASSIGN_OR_RETURN(FrameSignature sig, frame_signature(f, options));
    signatures.push_back(std::move(sig));
  }
  return detect_scene_cuts(signatures, options);
}

StatusOr<std::vector<SceneSegment>> scene_segments(const std::vector<SceneCut>& cuts, double begin,
                                                   double end, double min_length,
                                                   double max_length) {
  if (!std::isfinite(begin) || !std::isfinite(end) || !(end > begin)) {
    return invalid_argument("scene segments: the range must have end > begin");
  }
  if (!(min_length >= 0) || !(max_length >= 0)) {
    return invalid_argument("scene segments: min and max length must be >= 0");
  }
  if (max_length > 0 && max_length < min_length) {
    return invalid_argument("scene segments: max length must be >= min length");
  }
  // The kept cuts: inside (begin, end), at least min_length after the previous boundary and
  // before the end.
  std::vector<SceneSegment> scenes;
  double start = begin, start_score = 0;
  for (const SceneCut& cut : cuts) {
    if (cut.time <= start || cut.time >= end) continue;
    if (cut.time - start < min_length || end - cut.time < min_length) continue;
    scenes.push_back({start, cut.time, start_score});
    start = cut.time;
    start_score = cut.score;
  }
  scenes.push_back({start, end, start_score});
  if (!(max_length > 0)) return scenes;

  std::vector<SceneSegment> out;
  for (const SceneSegment& s : scenes) {
    const double length = s.end - s.start;
    // A tiny tolerance keeps a scene of exactly max_length (up to rounding) in one piece.
    const int64_t parts =
        std::max<int64_t>(1, static_cast<int64_t>(std::ceil(length / max_length - 1e-9)));
    for (int64_t k = 0; k < parts; ++k) {
      SceneSegment piece;
      piece.start = s.start + length * static_cast<double>(k) / static_cast<double>(parts);
      piece.end = k + 1 == parts
                      ? s.end
                      : s.start + length * static_cast<double>(k + 1) / static_cast<double>(parts);
      piece.score = k == 0 ? s.score : 0;
      out.push_back(piece);
    }
  }
  return out;
}

}  // namespace vamba::vision
