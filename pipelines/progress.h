// Progress of a batch run on stderr. On a terminal (isatty): one bar redrawn in place with the
// rate and the time left; otherwise (a log file, a Kubernetes pod's log): a plain line at most
// every `interval_s` seconds and at the end, so logs stay readable.
//   [#########...........] 12/40 videos, 1 failed | 14.2 videos/h, 3.1 video-h/h | ETA 1h58m
//   progress: 12/40 videos (1 failed), 14.2 videos/h, 3.1 video-h/h, ETA 1h58m
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace vamba::pipelines {

class Progress {
 public:
  // total: videos this run will process; tty: draw a bar (else plain lines).
  Progress(int64_t total, bool tty, double interval_s = 10.0, std::FILE* out = stderr);

  // One more video finished (failed or not), holding `video_seconds` of video.
  void video_done(bool failed, double video_seconds);
  // The final line (and the bar's newline on a terminal).
  void finish();

  // "1h58m", "4m05s", "12s" (for tests and messages).
  static std::string format_duration(double seconds);
  std::string line() const;  // the current status text, without the bar

 private:
  void render(bool force);

  using Clock = std::chrono::steady_clock;
  const int64_t total_;
  const bool tty_;
  const double interval_s_;
  std::FILE* out_;
  const Clock::time_point started_ = Clock::now();
  Clock::time_point last_print_{};
  bool printed_ = false;
  int64_t done_ = 0, failed_ = 0;
  double video_seconds_ = 0;
};

}  // namespace vamba::pipelines
