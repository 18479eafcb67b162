#include "pipelines/stream_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>

namespace vamba::pipelines {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kTailHighWater = 8u << 20;

std::string scheme_of(const std::string& url) {
  const size_t colon = url.find("://");
  return colon == std::string::npos ? "" : url.substr(0, colon);
}

bool is_live_protocol(const std::string& scheme) {
  return scheme == "rtsp" || scheme == "rtsps" || scheme == "rtmp" || scheme == "rtmps" ||
         scheme == "srt" || scheme == "udp" || scheme == "rtp";
}

// Copies a growing file into `pipe` until `stop`, or until it has not grown for idle_s.
void tail_file(const std::string& path, double idle_s, std::shared_ptr<vision::BytePipe> pipe,
               const std::atomic<bool>* stop) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    pipe->fail(not_found("cannot open " + path + " to follow it"));
    return;
  }
  std::vector<uint8_t> buf(1 << 16);
  auto last_growth = Clock::now();
  while (!stop->load()) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n > 0) {
      last_growth = Clock::now();
      pipe->write(buf.data(), static_cast<size_t>(n));
      // Past the high-water mark: let the reader catch up (the file keeps the bytes meanwhile).
      while (pipe->buffered() >= kTailHighWater && !stop->load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      continue;
    }
    if (n < 0 && errno != EINTR) {
      pipe->fail(unavailable("reading " + path + " failed"));
      break;
    }
    if (std::chrono::duration<double>(Clock::now() - last_growth).count() > idle_s) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::close(fd);
  pipe->close();
}

}  // namespace

StreamSource::StreamSource(std::string source, StreamSourceOptions options)
    : source_(std::move(source)),
      options_(std::move(options)),
      network_(vision::is_url(source_)),
      live_protocol_(is_live_protocol(scheme_of(source_))) {}

StreamSource::~StreamSource() { stop_tail(); }

void StreamSource::stop_tail() {
  tail_stop_.store(true);
  if (tail_thread_.joinable()) tail_thread_.join();
}

bool StreamSource::backoff_sleep(double seconds) const {
  const auto until = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < until) {
    if (options_.decode.cancel && options_.decode.cancel->load()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

Status StreamSource::open() {
  reader_.reset();
  if (options_.follow && !network_ && source_ != "-" && source_.rfind("pipe:", 0) != 0) {
    stop_tail();
    tail_stop_.store(false);
    tail_pipe_ = std::make_shared<vision::BytePipe>(kTailHighWater);
    tail_thread_ =
        std::thread(tail_file, source_, options_.idle_timeout_s, tail_pipe_, &tail_stop_);
    VAMBA_ASSIGN_OR_RETURN(reader_,
                           vision::FrameReader::open_pipe(tail_pipe_, options_.decode, source_));
  } else {
    VAMBA_ASSIGN_OR_RETURN(reader_, vision::FrameReader::open(source_, options_.decode));
  }
  if (reader_->info().fps > 0) period_ = 1.0 / reader_->info().fps;
  return ok_status();
}

StatusOr<std::optional<vision::VideoFrame>> StreamSource::next(double not_before) {
  for (;;) {
    Status failure;
    if (!reader_) {
      failure = open();
    }
    if (failure.ok() && reader_) {
      auto frame = reader_->next(not_before - offset_);
      if (frame.ok() && frame->has_value()) {
        (*frame)->timestamp += offset_;
        last_time_ = (*frame)->timestamp;
        failures_in_row_ = 0;
        return frame;
      }
      if (frame.ok()) {
        // The end of the stream: final unless a live network protocol just dropped us.
        if (!(network_ && live_protocol_)) return std::optional<vision::VideoFrame>();
        failure = unavailable(source_ + ": the stream ended");
      } else {
        failure = frame.status();
      }
    }
    const bool retryable = network_ && failure.code() == StatusCode::kUnavailable;
    if (!retryable) return failure;
    if (options_.max_reconnects >= 0 && reconnects_ >= options_.max_reconnects) {
      return failure.with_context("gave up after " + std::to_string(reconnects_) + " reconnects");
    }
    const double wait = std::min(options_.backoff_max_s,
                                 options_.backoff_initial_s * std::pow(2.0, failures_in_row_));
    ++failures_in_row_;
    ++reconnects_;
    spdlog::warn("{}: {}; reconnecting in {:.1f} s (attempt {})", source_, failure.message(), wait,
                 reconnects_);
    reader_.reset();
    // The clock goes on after the last frame; the time spent away is not stream time.
    if (last_time_ >= 0) offset_ = last_time_ + period_;
    if (!backoff_sleep(wait)) return cancelled(source_ + ": cancelled while reconnecting");
  }
}

}  // namespace vamba::pipelines
