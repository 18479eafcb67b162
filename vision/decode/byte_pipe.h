// A blocking, bounded byte pipe between a producer that receives an encoded video as it arrives
// (chunks of a gRPC stream, a file being tailed) and an FFmpeg demuxer that reads it in order
// (FrameReader::open_pipe). No FFmpeg types here.
//
// write() never blocks: it appends and says whether the pipe is still below its high-water mark,
// so a producer on an event thread (a gRPC reactor) can pause its reads and resume from the
// `on_space` callback, which runs on the reader's thread once the buffer drains to half. read()
// blocks until bytes arrive, the producer closes the pipe (end of stream), the pipe fails, or the
// cancel flag is set.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/core/status.h"

namespace vamba::vision {

class BytePipe {
 public:
  explicit BytePipe(size_t high_water_bytes = 8 << 20);

  // Producer side. Appends `n` bytes; false when the pipe now holds at least the high-water mark
  // (the producer should stop until on_space runs). Bytes written after close() are dropped.
  bool write(const uint8_t* data, size_t n);
  // No more bytes will come: the reader sees the end of the stream once it has read the rest.
  void close();
  // Ends the stream with an error: the reader's next read reports `error`.
  void fail(Status error);
  // Called (on the reader's thread, without locks held) when the buffer drains below half the
  // high-water mark after a write() returned false.
  void set_on_space(std::function<void()> on_space);

  // Reader side. Copies up to `n` bytes into `out`, blocking until at least one is available.
  // Returns the number copied; 0 at the end of the stream. CANCELLED when `cancel` is set
  // (checked every 100 ms) and the failure given to fail().
  StatusOr<size_t> read(uint8_t* out, size_t n, const std::atomic<bool>* cancel = nullptr);

  size_t buffered() const;
  int64_t total_written() const;

 private:
  const size_t high_water_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::vector<uint8_t>> chunks_;
  size_t front_offset_ = 0;  // bytes of chunks_.front() already read
  size_t buffered_ = 0;
  int64_t total_written_ = 0;
  bool closed_ = false;
  bool paused_ = false;  // a write() returned false and on_space has not run since
  Status error_;
  std::function<void()> on_space_;
};

}  // namespace vamba::vision
