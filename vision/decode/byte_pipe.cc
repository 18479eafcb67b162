#include "vision/decode/byte_pipe.h"

#include <algorithm>
#include <chrono>
#include <cstring>

namespace vamba::vision {

BytePipe::BytePipe(size_t high_water_bytes) : high_water_(std::max<size_t>(high_water_bytes, 1)) {}

bool BytePipe::write(const uint8_t* data, size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_ || !error_.ok()) return true;  // nobody will read it; do not make the producer wait
  if (n > 0) {
    chunks_.emplace_back(data, data + n);
    buffered_ += n;
    total_written_ += static_cast<int64_t>(n);
    cv_.notify_all();
  }
  if (buffered_ >= high_water_) {
    paused_ = true;
    return false;
  }
  return true;
}

void BytePipe::close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  cv_.notify_all();
}

void BytePipe::fail(Status error) {
  std::lock_guard<std::mutex> lock(mu_);
  if (error_.ok()) error_ = std::move(error);
  cv_.notify_all();
}

void BytePipe::set_on_space(std::function<void()> on_space) {
  std::lock_guard<std::mutex> lock(mu_);
  on_space_ = std::move(on_space);
}

StatusOr<size_t> BytePipe::read(uint8_t* out, size_t n, const std::atomic<bool>* cancel) {
  std::function<void()> wake;
  size_t copied = 0;
  {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (!error_.ok()) return error_;
      if (cancel && cancel->load()) return cancelled("reading the video stream was cancelled");
      if (buffered_ > 0 || closed_) break;
      cv_.wait_for(lock, std::chrono::milliseconds(100));
    }
    while (copied < n && !chunks_.empty()) {
      std::vector<uint8_t>& front = chunks_.front();
      const size_t take = std::min(n - copied, front.size() - front_offset_);
      std::memcpy(out + copied, front.data() + front_offset_, take);
      copied += take;
      front_offset_ += take;
      buffered_ -= take;
      if (front_offset_ == front.size()) {
        chunks_.pop_front();
        front_offset_ = 0;
      }
    }
    if (paused_ && buffered_ < high_water_ / 2) {
      paused_ = false;
      wake = on_space_;
    }
  }
  if (wake) wake();
  return copied;
}

size_t BytePipe::buffered() const {
  std::lock_guard<std::mutex> lock(mu_);
  return buffered_;
}

int64_t BytePipe::total_written() const {
  std::lock_guard<std::mutex> lock(mu_);
  return total_written_;
}

}  // namespace vamba::vision
