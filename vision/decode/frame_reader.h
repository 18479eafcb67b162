// Sequential frame reading for live and non-seekable sources: an RTSP / HTTP / RTMP URL, a pipe
// from another program ("pipe:0" or "-" for stdin, e.g. `ffmpeg ... -f mpegts - | vamba stream`),
// a file, or a byte stream pushed in by another thread (BytePipe, e.g. a gRPC upload). Frames come
// out in presentation order as the source delivers them; nothing ever seeks, so no index, no
// duration and no frame count are needed (VideoDecoder is the random-access reader for files).
//
// Timestamps are seconds since the first decoded frame and never go backwards: a timestamp that
// jumps back, or forward by more than kMaxTimestampJumpSeconds (an MPEG-TS discontinuity, a
// restarted encoder upstream), is treated as a discontinuity and the clock continues one frame
// period after the last frame.
//
// Errors follow VideoDecoder: unreadable or corrupt input INVALID_ARGUMENT, network failures and
// read timeouts UNAVAILABLE (the caller may reconnect), CANCELLED when the cancel flag is set. One
// reader is not thread-safe; the cancel flag may be set from any thread.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>

#include "engine/core/status.h"
#include "vision/decode/byte_pipe.h"
#include "vision/decode/video_decoder.h"
#include "vision/decode/video_frame.h"

namespace vamba::vision {

inline constexpr double kMaxTimestampJumpSeconds = 60.0;
// Timestamps within this of a wanted time count as at it (containers round to their time base).
inline constexpr double kTimestampSlackSeconds = 1e-6;

class FrameReader {
 public:
  // "scheme://..." (not file://): a URL with DecodeOptions' connect and read timeouts;
  // "pipe:N" or "-": file descriptor N or stdin; anything else: a file path.
  static StatusOr<std::unique_ptr<FrameReader>> open(const std::string& source,
                                                     const DecodeOptions& options = {});
  // Bytes another thread writes into `pipe` (any container FFmpeg can demux without seeking:
  // MPEG-TS, Matroska/WebM, fragmented MP4, ...). `label` names it in messages.
  static StatusOr<std::unique_ptr<FrameReader>> open_pipe(std::shared_ptr<BytePipe> pipe,
                                                          const DecodeOptions& options = {},
                                                          const std::string& label = "<stream>");
  ~FrameReader();
  FrameReader(const FrameReader&) = delete;
  FrameReader& operator=(const FrameReader&) = delete;

  // What the probe found (duration and frame_count are 0 for live sources; seekable false).
  const VideoInfo& info() const;

  // The next frame whose timestamp is at least `not_before` seconds (less kTimestampSlackSeconds).
  // Earlier frames are decoded but not converted to RGB (the costly part), so sampling a 30 fps
  // source at 1 fps converts one frame in thirty. nullopt at the end of the stream.
  StatusOr<std::optional<VideoFrame>> next(
      double not_before = -std::numeric_limits<double>::infinity());

  int64_t frames_decoded() const;   // every frame the decoder produced, converted or not
  int64_t discontinuities() const;  // timestamp jumps smoothed over

  struct Impl;

 private:
  explicit FrameReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vamba::vision
