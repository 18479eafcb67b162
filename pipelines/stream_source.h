// A live video source that keeps going: frames in order with one continuous stream clock across
// reconnects (vision/decode/frame_reader.h does the reading).
//
//  - Network URLs (rtsp, rtmp, srt, udp, http, ...): when the connection drops or stalls past the
//    read timeout (UNAVAILABLE), or a live protocol (rtsp, rtmp, srt, udp, rtp) reports the end of
//    the stream, the source is reopened after a backoff that doubles from backoff_initial_s up to
//    backoff_max_s (reset once frames flow again). The first connection is retried the same way.
//    The stream clock continues one frame period after the last frame before the drop, so
//    timestamps never go back and the gap is not counted.
//  - pipe:N / - and files: read to their end. With `follow`, a file is tailed as it grows (a
//    recording in progress): it ends after idle_timeout_s without new bytes.
// Errors that retrying cannot fix (a missing file, corrupt data, an unsupported codec) end it.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "vision/decode/byte_pipe.h"
#include "vision/decode/frame_reader.h"

namespace vamba::pipelines {

struct StreamSourceOptions {
  vision::DecodeOptions decode;
  bool follow = false;         // tail a growing file
  double idle_timeout_s = 10;  // follow: end after this long without growth
  int max_reconnects = -1;     // network sources: < 0 without limit
  double backoff_initial_s = 0.5;
  double backoff_max_s = 30;
};

class StreamSource {
 public:
  StreamSource(std::string source, StreamSourceOptions options);
  ~StreamSource();  // stops a tailing thread
  StreamSource(const StreamSource&) = delete;
  StreamSource& operator=(const StreamSource&) = delete;

  // The next frame at or after `not_before` seconds of stream time; nullopt at the end.
  StatusOr<std::optional<vision::VideoFrame>> next(double not_before);

  int64_t reconnects() const { return reconnects_; }
  bool is_network() const { return network_; }

 private:
  Status open();
  void stop_tail();
  // Sleeps `seconds`, waking early when the decode cancel flag is set.
  bool backoff_sleep(double seconds) const;

  const std::string source_;
  const StreamSourceOptions options_;
  const bool network_;
  const bool live_protocol_;  // an end of stream means a drop, not the end
  std::unique_ptr<vision::FrameReader> reader_;
  double offset_ = 0;      // added to the reader's clock (time before the last reconnect)
  double last_time_ = -1;  // stream time of the last frame returned
  double period_ = 0.04;   // the source's frame period, for the clock across a reconnect
  int64_t reconnects_ = 0;
  int failures_in_row_ = 0;
  // follow: the thread that copies the growing file into the pipe.
  std::shared_ptr<vision::BytePipe> tail_pipe_;
  std::atomic<bool> tail_stop_{false};
  std::thread tail_thread_;
};

}  // namespace vamba::pipelines
