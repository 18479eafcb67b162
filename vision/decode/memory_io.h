// A read-only, seekable AVIOContext over bytes in memory, so a video uploaded as bytes decodes
// without a temporary file. Internal to vision/decode.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "vision/decode/ffmpeg_util.h"

namespace vamba::vision::ffmpeg {

class MemoryIo {
 public:
  // Keeps `bytes` alive for as long as this object lives.
  static StatusOr<std::unique_ptr<MemoryIo>> create(
      std::shared_ptr<const std::vector<uint8_t>> bytes);
  ~MemoryIo();
  MemoryIo(const MemoryIo&) = delete;
  MemoryIo& operator=(const MemoryIo&) = delete;

  // Owned by this object; give it to AVFormatContext::pb with AVFMT_FLAG_CUSTOM_IO.
  AVIOContext* context() const { return ctx_; }

 private:
  MemoryIo() = default;
  static int read(void* opaque, uint8_t* buf, int buf_size);
  static int64_t seek(void* opaque, int64_t offset, int whence);

  std::shared_ptr<const std::vector<uint8_t>> bytes_;
  int64_t pos_ = 0;
  AVIOContext* ctx_ = nullptr;
};

}  // namespace vamba::vision::ffmpeg
