// A read-only, non-seekable AVIOContext over a BytePipe, so FFmpeg demuxes a byte stream that
// another thread pushes in as it arrives (a gRPC upload stream, a file being tailed). Internal to
// vision/decode; the AVIO pattern of memory_io.h.
#pragma once

#include <atomic>
#include <memory>

#include "vision/decode/byte_pipe.h"
#include "vision/decode/ffmpeg_util.h"

namespace vamba::vision::ffmpeg {

class PipeIo {
 public:
  // `cancel` (may be null) aborts a blocking read with AVERROR_EXIT.
  static StatusOr<std::unique_ptr<PipeIo>> create(std::shared_ptr<BytePipe> pipe,
                                                  std::shared_ptr<const std::atomic<bool>> cancel);
  ~PipeIo();
  PipeIo(const PipeIo&) = delete;
  PipeIo& operator=(const PipeIo&) = delete;

  // Owned by this object; give it to AVFormatContext::pb with AVFMT_FLAG_CUSTOM_IO.
  AVIOContext* context() const { return ctx_; }
  // Why the last read failed (the pipe's own error, or CANCELLED); OK if none did.
  const Status& error() const { return error_; }

 private:
  PipeIo() = default;
  static int read(void* opaque, uint8_t* buf, int buf_size);

  std::shared_ptr<BytePipe> pipe_;
  std::shared_ptr<const std::atomic<bool>> cancel_;
  Status error_;
  AVIOContext* ctx_ = nullptr;
};

}  // namespace vamba::vision::ffmpeg
