// Demux + decode one video stream with FFmpeg, from a file, from bytes in memory, or from any URL
// FFmpeg supports (http(s), rtsp, ...), and fetch RGB frames by index or timestamp.
//
// Sparse fetches never decode the whole file: for each wanted time the decoder seeks
// (AVSEEK_FLAG_BACKWARD) to the keyframe before it and decodes forward to the exact frame, chosen
// by presentation timestamp, not by counting, so variable frame rates are honoured. Wanted frames
// that share a GOP with the current position are reached by decoding forward without a new seek.
//
// Which frame is "frame i" or "the frame at t seconds": the frame on screen at time t (= i / fps
// for an index), i.e. the last frame whose timestamp, measured from the stream's first frame, is at
// most t (give or take one time-base tick, since containers round timestamps to their time base).
//
// Errors: a missing file NOT_FOUND; corrupt, truncated or unsupported input INVALID_ARGUMENT;
// network failures and timeouts UNAVAILABLE; a cancelled operation CANCELLED; an index or time past
// the end OUT_OF_RANGE. Nothing aborts. One decoder is not thread-safe; the cancel flag may be set
// from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "vision/decode/video_frame.h"

namespace vamba::vision {

struct DecodeOptions {
  // Opening a URL (connect, handshake, probing) must finish within this.
  std::chrono::milliseconds connect_timeout{10000};
  // Each network read must make progress within this (FFmpeg's rw_timeout, and our own watchdog).
  std::chrono::milliseconds read_timeout{10000};
  // Set to true (from any thread) to abort a blocking open or read with CANCELLED.
  std::shared_ptr<const std::atomic<bool>> cancel;
  // Decoder threads; 0 lets FFmpeg pick (one per core).
  int threads = 0;
  // RTSP over TCP (interleaved) rather than UDP: survives NAT and loss, and times out reliably.
  bool rtsp_over_tcp = true;
  // Decode on the GPU through FFmpeg's CUDA hwaccel when available; otherwise (no GPU, no support
  // for this codec, or a failure) fall back to the CPU with one log line. Frames are identical in
  // layout; the colours may differ by rounding from the CPU path.
  bool gpu = false;
  // Fast seeks for long videos: each wanted frame is replaced by the keyframe at or before it (at
  // most one GOP earlier; its own timestamp is reported), so a sparse fetch decodes about one frame
  // per sample instead of everything from the keyframe up to it. Inputs that cannot seek, or whose
  // seek finds nothing, get the exact frame.
  bool nearest_keyframe = false;
};

class VideoDecoder {
 public:
  static StatusOr<std::unique_ptr<VideoDecoder>> open_file(const std::string& path,
                                                           const DecodeOptions& options = {});
  // Decodes from bytes in memory (a custom AVIOContext); the bytes are shared, not copied.
  static StatusOr<std::unique_ptr<VideoDecoder>> open_memory(
      std::shared_ptr<const std::vector<uint8_t>> bytes, const DecodeOptions& options = {});
  // Any URL FFmpeg's protocols accept (http, https, rtsp, rtmp, ...), with the timeouts above.
  static StatusOr<std::unique_ptr<VideoDecoder>> open_url(const std::string& url,
                                                          const DecodeOptions& options = {});
  // A source string: "scheme://..." (other than file://) opens as a URL, anything else as a path.
  static StatusOr<std::unique_ptr<VideoDecoder>> open(const std::string& source,
                                                      const DecodeOptions& options = {});

  ~VideoDecoder();
  VideoDecoder(const VideoDecoder&) = delete;
  VideoDecoder& operator=(const VideoDecoder&) = delete;

  const VideoInfo& info() const;

  // Frames i (0 <= i < frame_count) in the order given; duplicates allowed. Internally visited in
  // ascending order so each GOP is decoded at most once per call.
  StatusOr<std::vector<VideoFrame>> frames_at_indices(const std::vector<int64_t>& indices);
  // The same frames handed to `visit` one at a time (in ascending index order, with the position
  // each had in `indices`), so a long video's full-size frames need not all be held at once: the
  // visitor can shrink each frame as it arrives. A visitor error stops the walk and is returned.
  Status visit_indices(const std::vector<int64_t>& indices,
                       const std::function<Status(size_t position, VideoFrame&& frame)>& visit);
  // The frames on screen at these times (seconds since the first frame, 0 <= t < duration).
  StatusOr<std::vector<VideoFrame>> frames_at_times(const std::vector<double>& seconds);

  // Sequential reading from the current position (the start, after open or rewind()); nullopt at
  // the end. For live streams this is the way to read.
  StatusOr<std::optional<VideoFrame>> next_frame();
  Status rewind();

  // Counters for tests and benchmarks: sparse fetches should decode far fewer frames than the file
  // holds.
  struct Stats {
    int64_t packets_read = 0;
    int64_t frames_decoded = 0;
    int64_t seeks = 0;
    bool gpu_active = false;  // the CUDA hwaccel is in use
  };
  const Stats& stats() const;

  struct Impl;

 private:
  explicit VideoDecoder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// True if `source` names a URL (has a scheme other than file:) rather than a local path.
bool is_url(const std::string& source);

}  // namespace vamba::vision
