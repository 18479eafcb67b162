// FFmpeg plumbing shared by the decoder's .cc files (internal to vision/decode: it includes FFmpeg
// headers, so nothing outside this folder includes it). RAII owners for FFmpeg objects, the mapping
// from AVERROR codes to Status, and the log hook that keeps FFmpeg's last error line for messages.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/frame.h>
}

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "engine/core/status.h"

namespace vamba::vision::ffmpeg {

struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct CodecContextDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;
using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextDeleter>;

// A new reference to `src` (shares the buffers); null if FFmpeg is out of memory.
FramePtr clone_ref(const AVFrame* src);

// "Invalid data found when processing input" for AVERROR_INVALIDDATA, etc.
std::string error_string(int averror);

// Where the failing input came from: errors on a network URL mean something else than on a file.
enum class SourceKind { kFile, kMemory, kUrl };

// Maps an FFmpeg error to a Status code: missing file NOT_FOUND; bad data, unknown format or
// codec INVALID_ARGUMENT; network trouble UNAVAILABLE; out of memory RESOURCE_EXHAUSTED.
// `what` says what was being done ("opening x"); FFmpeg's last logged error line is appended.
Status status_from_averror(int averror, SourceKind kind, const std::string& what);

// Installs (once per process) a log callback that forwards FFmpeg's messages to spdlog at debug
// level and remembers the calling thread's last error line for status_from_averror.
void install_log_hook();
// The calling thread's last FFmpeg error line ("" if none); clear_last_log() forgets it.
std::string last_log_line();
void clear_last_log();

// What FFmpeg's interrupt callback checks during blocking I/O (install with
// fmt->interrupt_callback = {&interrupt_callback, &state}): returning 1 aborts the call with
// AVERROR_EXIT, and the flags tell a cancellation from a timeout afterwards.
struct InterruptState {
  std::shared_ptr<const std::atomic<bool>> cancel;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  bool cancelled = false;
  bool timed_out = false;

  // The next blocking calls must finish within `budget` (≤ 0: no deadline, only cancellation).
  void arm(std::chrono::milliseconds budget);
  void arm_cancel_only() { arm(std::chrono::milliseconds(0)); }
};
int interrupt_callback(void* opaque);  // opaque: InterruptState*

// Clockwise degrees the picture must be turned for display, from the stream's display matrix
// (the ffmpeg CLI's autorotate rule); 0 where there is none or it is not a right angle (logged
// with `label`, as is a mirroring matrix, whose flip is not applied).
int display_rotation(const AVStream* stream, const std::string& label);

}  // namespace vamba::vision::ffmpeg
