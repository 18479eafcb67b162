#include "pipelines/progress.h"

#include <cmath>

namespace vamba::pipelines {

Progress::Progress(int64_t total, bool tty, double interval_s, std::FILE* out)
    : total_(total), tty_(tty), interval_s_(interval_s), out_(out) {}

std::string Progress::format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const int64_t s = static_cast<int64_t>(std::llround(seconds));
  char buf[64];
  if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>((s % 3600) / 60));
  } else if (s >= 60) {
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof(buf), "%llds", static_cast<long long>(s));
  }
  return buf;
}

std::string Progress::line() const {
  const double elapsed = std::chrono::duration<double>(Clock::now() - started_).count();
  const double per_hour = elapsed > 0 ? done_ / elapsed * 3600 : 0;
  const double video_hours_per_hour = elapsed > 0 ? video_seconds_ / elapsed : 0;
  const double eta = done_ > 0 ? elapsed / done_ * (total_ - done_) : -1;
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "%lld/%lld videos (%lld failed), %.1f videos/h, %.2f video-h/h, ETA %s",
                static_cast<long long>(done_), static_cast<long long>(total_),
                static_cast<long long>(failed_), per_hour, video_hours_per_hour,
                done_ >= total_ ? "0s" : format_duration(eta).c_str());
  return buf;
}

void Progress::render(bool force) {
  const auto now = Clock::now();
  if (tty_) {
    constexpr int kWidth = 24;
    const int filled =
        total_ > 0 ? static_cast<int>(kWidth * static_cast<double>(done_) / total_) : kWidth;
    std::string bar(filled, '#');
    bar.append(kWidth - filled, '.');
    std::fprintf(out_, "\r\033[K[%s] %s", bar.c_str(), line().c_str());
    std::fflush(out_);
    printed_ = true;
    return;
  }
  if (!force && printed_ &&
      std::chrono::duration<double>(now - last_print_).count() < interval_s_) {
    return;
  }
  std::fprintf(out_, "progress: %s\n", line().c_str());
  std::fflush(out_);
  last_print_ = now;
  printed_ = true;
}

void Progress::video_done(bool failed, double video_seconds) {
  ++done_;
  if (failed) ++failed_;
  if (std::isfinite(video_seconds) && video_seconds > 0) video_seconds_ += video_seconds;
  render(done_ >= total_);
}

void Progress::finish() {
  if (tty_) {
    if (printed_) std::fprintf(out_, "\n");
    std::fflush(out_);
    return;
  }
  if (!printed_ || done_ < total_) render(true);
}

}  // namespace vamba::pipelines
