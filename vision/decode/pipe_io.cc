#include "vision/decode/pipe_io.h"

namespace vamba::vision::ffmpeg {
namespace {
constexpr int kIoBufferBytes = 64 * 1024;
}  // namespace

StatusOr<std::unique_ptr<PipeIo>> PipeIo::create(std::shared_ptr<BytePipe> pipe,
                                                 std::shared_ptr<const std::atomic<bool>> cancel) {
  if (!pipe) return invalid_argument("no byte pipe to read the video from");
  std::unique_ptr<PipeIo> io(new PipeIo());
  io->pipe_ = std::move(pipe);
  io->cancel_ = std::move(cancel);
  auto* buffer = static_cast<uint8_t*>(av_malloc(kIoBufferBytes));
  if (!buffer) return resource_exhausted("cannot allocate the AVIO buffer");
  io->ctx_ = avio_alloc_context(buffer, kIoBufferBytes, /*write_flag=*/0, io.get(), &PipeIo::read,
                                nullptr, /*seek=*/nullptr);
  if (!io->ctx_) {
    av_free(buffer);
    return resource_exhausted("cannot allocate the AVIO context");
  }
  io->ctx_->seekable = 0;  // a live byte stream: demuxers must not try to seek back
  return io;
}

PipeIo::~PipeIo() {
  if (ctx_) {
    av_freep(&ctx_->buffer);  // FFmpeg may have replaced the buffer we gave it
    avio_context_free(&ctx_);
  }
}

int PipeIo::read(void* opaque, uint8_t* buf, int buf_size) {
  auto* self = static_cast<PipeIo*>(opaque);
  StatusOr<size_t> n = self->pipe_->read(buf, static_cast<size_t>(buf_size), self->cancel_.get());
  if (!n.ok()) {
    self->error_ = n.status();
    return n.status().code() == StatusCode::kCancelled ? AVERROR_EXIT : AVERROR(EIO);
  }
  if (*n == 0) return AVERROR_EOF;
  return static_cast<int>(*n);
}

}  // namespace vamba::vision::ffmpeg
