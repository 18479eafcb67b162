#include "vision/sample/frame_sampler.h"

#include <algorithm>
#include <cfenv>
#include <cmath>
#include <string>

namespace vamba::vision {
namespace {

// numpy.linspace(0, stop, num + 1) for integral stop: y[i] = i * (stop / num), the last value set
// to stop exactly (numpy's endpoint fix-up). Truncated to int as .astype(int) does.
std::vector<int64_t> linspace_edges(int64_t stop, int64_t num) {
  std::vector<int64_t> edges(num + 1);
  const double step = static_cast<double>(stop) / static_cast<double>(num);
  for (int64_t i = 0; i < num; ++i) {
    edges[i] = static_cast<int64_t>(static_cast<double>(i) * step);
  }
  edges[num] = stop;
  return edges;
}

// numpy.around / rint: nearest, ties to even (the default rounding mode).
double round_half_even(double x) {
  const int saved = std::fegetround();
  std::fesetround(FE_TONEAREST);
  const double r = std::nearbyint(x);
  std::fesetround(saved);
  return r;
}

}  // namespace

std::vector<int64_t> uniform_indices(int64_t vlen, int64_t n) {
  std::vector<int64_t> out;
  if (vlen <= 0 || n <= 0) return out;
  const int64_t ranges = std::min(n, vlen);
  const std::vector<int64_t> edges = linspace_edges(vlen, ranges);
  out.reserve(n);
  for (int64_t i = 0; i < ranges; ++i) {
    const int64_t lo = edges[i];
    const int64_t hi = edges[i + 1] - 1;
    // Python's // floors; lo + hi >= -1 only reaches -1 for an empty first range, never here.
    const int64_t sum = lo + hi;
    out.push_back(sum >= 0 ? sum / 2 : -((-sum + 1) / 2));
  }
  while (static_cast<int64_t>(out.size()) < n) out.push_back(out.back());
  return out;
}

std::vector<int64_t> fps_indices(int64_t vlen, double video_fps, double sample_fps,
                                 int64_t max_frames) {
  std::vector<int64_t> out;
  if (vlen <= 0 || !(video_fps > 0) || !(sample_fps > 0)) return out;
  const double duration = static_cast<double>(vlen) / video_fps;
  const double delta = 1.0 / sample_fps;
  const double start = 0.0 + delta / 2.0;
  const double stop = duration + delta / 2.0;
  // numpy.arange: length ceil((stop - start) / step); values start + i * (a[1] - a[0]).
  const double length = std::ceil((stop - start) / delta);
  if (!(length > 0)) return out;
  const int64_t n = static_cast<int64_t>(length);
  const double step = (start + delta) - start;
  for (int64_t i = 0; i < n; ++i) {
    const double t =
        i == 0 ? start : (i == 1 ? start + delta : start + static_cast<double>(i) * step);
    const int64_t index = static_cast<int64_t>(round_half_even(t * video_fps));
    if (index < vlen) out.push_back(index);
  }
  if (max_frames > 0 && static_cast<int64_t>(out.size()) > max_frames) out.resize(max_frames);
  return out;
}

StatusOr<std::vector<FrameSample>> sample_frames(int64_t frame_count, double fps,
                                                 const SamplingOptions& options) {
  if (frame_count <= 0) return invalid_argument("the video has no frames to sample");
  if (!(fps > 0) || !std::isfinite(fps)) {
    return invalid_argument("frame rate must be positive, got " + std::to_string(fps));
  }
  if (!(options.start >= 0) || !(options.end > options.start)) {
    return invalid_argument("time range [" + std::to_string(options.start) + ", " +
                            std::to_string(options.end) + ") is empty or negative");
  }
  // Frames shown in [start, end): i / fps >= start and i / fps < end. The epsilon absorbs the
  // rounding of t * fps when t is meant to be an exact frame time.
  constexpr double kEps = 1e-9;
  const int64_t first = static_cast<int64_t>(std::ceil(options.start * fps - kEps));
  int64_t last = frame_count;
  if (std::isfinite(options.end)) {
    last =
        std::min<int64_t>(frame_count, static_cast<int64_t>(std::ceil(options.end * fps - kEps)));
  }
  const int64_t vlen = last - first;
  if (vlen <= 0) {
    return invalid_argument("time range [" + std::to_string(options.start) + ", " +
                            std::to_string(options.end) + ") s holds no frame of this video (" +
                            std::to_string(frame_count) + " frames at " + std::to_string(fps) +
                            " fps)");
  }
  std::vector<int64_t> local;
  switch (options.mode) {
    case SampleMode::kUniform:
      if (options.num_frames <= 0) {
        return invalid_argument("num_frames must be positive, got " +
                                std::to_string(options.num_frames));
      }
      local = uniform_indices(vlen, options.num_frames);
      break;
    case SampleMode::kFps:
      if (!(options.sample_fps > 0) || !std::isfinite(options.sample_fps)) {
        return invalid_argument("sample_fps must be positive, got " +
                                std::to_string(options.sample_fps));
      }
      local = fps_indices(vlen, fps, options.sample_fps, options.max_frames);
      break;
  }
  if (local.empty()) return invalid_argument("the sampler chose no frame");
  std::vector<FrameSample> out;
  out.reserve(local.size());
  for (const int64_t i : local) {
    const int64_t index = first + i;
    out.push_back({index, static_cast<double>(index) / fps});
  }
  return out;
}

}  // namespace vamba::vision
