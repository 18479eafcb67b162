#include "vision/decode/memory_io.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace vamba::vision::ffmpeg {
namespace {
constexpr int kIoBufferBytes = 64 * 1024;
}  // namespace

StatusOr<std::unique_ptr<MemoryIo>> MemoryIo::create(
    std::shared_ptr<const std::vector<uint8_t>> bytes) {
  if (!bytes || bytes->empty()) return invalid_argument("video bytes are empty");
  std::unique_ptr<MemoryIo> io(new MemoryIo());
  io->bytes_ = std::move(bytes);
  auto* buffer = static_cast<uint8_t*>(av_malloc(kIoBufferBytes));
  if (!buffer) return resource_exhausted("cannot allocate the AVIO buffer");
  io->ctx_ = avio_alloc_context(buffer, kIoBufferBytes, /*write_flag=*/0, io.get(), &MemoryIo::read,
                                nullptr, &MemoryIo::seek);
  if (!io->ctx_) {
    av_free(buffer);
    return resource_exhausted("cannot allocate the AVIO context");
  }
  return io;
}

MemoryIo::~MemoryIo() {
  if (ctx_) {
    av_freep(
        &ctx_->buffer);  // FFmpeg may have replaced the buffer we gave it; free its current one
    avio_context_free(&ctx_);
  }
}

int MemoryIo::read(void* opaque, uint8_t* buf, int buf_size) {
  auto* self = static_cast<MemoryIo*>(opaque);
  const int64_t size = static_cast<int64_t>(self->bytes_->size());
  const int64_t left = size - self->pos_;
  if (left <= 0) return AVERROR_EOF;
  const int n = static_cast<int>(std::min<int64_t>(left, buf_size));
  std::memcpy(buf, self->bytes_->data() + self->pos_, n);
  self->pos_ += n;
  return n;
}

int64_t MemoryIo::seek(void* opaque, int64_t offset, int whence) {
  auto* self = static_cast<MemoryIo*>(opaque);
  const int64_t size = static_cast<int64_t>(self->bytes_->size());
  whence &= ~AVSEEK_FORCE;
  if (whence == AVSEEK_SIZE) return size;
  int64_t target = 0;
  switch (whence) {
    case SEEK_SET:
      target = offset;
      break;
    case SEEK_CUR:
      target = self->pos_ + offset;
      break;
    case SEEK_END:
      target = size + offset;
      break;
    default:
      return AVERROR(EINVAL);
  }
  if (target < 0 || target > size) return AVERROR(EINVAL);
  self->pos_ = target;
  return target;
}

}  // namespace vamba::vision::ffmpeg
