// Reconnection of a network source (pipelines/stream_source.h): a TCP server sends part of an
// MPEG-TS stream and then stalls; the read times out, the source reconnects with backoff, reads the
// stream sent on the second connection, and its clock runs on from the last frame before the drop.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "pipelines/stream_source.h"
#include "tests/vision/test_clips.h"

namespace vamba::pipelines {
namespace {

const std::string& ts_clip() {
  static const std::string path = [] {
    const std::string p = testing::scratch_dir() + "/tcp.ts";
    return testing::run_ffmpeg(
               "-f lavfi -i testsrc=size=160x120:rate=10 -t 3 -c:v libx264 "
               "-preset ultrafast -g 5 -bf 0 -pix_fmt yuv420p -f mpegts \"" +
               p + "\"")
               ? p
               : std::string();
  }();
  return path;
}

// Serves `first` on the first connection and then stalls (keeps it open, silent) until the
// second connection, which gets `second` and is closed.
class StallingServer {
 public:
  StallingServer(std::vector<uint8_t> first, std::vector<uint8_t> second) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(fd_, 4);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, first = std::move(first), second = std::move(second)] {
      const int c1 = accept(fd_, nullptr, nullptr);
      if (c1 < 0) return;
      send_all(c1, first);
      const int c2 = accept(fd_, nullptr, nullptr);  // the reconnect
      close(c1);
      if (c2 < 0) return;
      send_all(c2, second);
      close(c2);
    });
  }
  ~StallingServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    if (thread_.joinable()) thread_.join();
  }
  int port() const { return port_; }

 private:
  static void send_all(int fd, const std::vector<uint8_t>& bytes) {
    size_t at = 0;
    while (at < bytes.size()) {
      const ssize_t n = send(fd, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
      if (n <= 0) return;
      at += static_cast<size_t>(n);
    }
  }
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

StreamSourceOptions fast_options() {
  StreamSourceOptions o;
  o.decode.connect_timeout = std::chrono::milliseconds(5000);
  o.decode.read_timeout = std::chrono::milliseconds(700);
  o.backoff_initial_s = 0.1;
  return o;
}

TEST(StreamSource, ReconnectsAfterAStallAndKeepsTheClockGoing) {
  if (ts_clip().empty()) GTEST_FAIL() << "the ffmpeg CLI could not make the test clip";
  const std::vector<uint8_t> bytes = testing::read_bytes(ts_clip());
  std::vector<uint8_t> part(bytes.begin(), bytes.begin() + bytes.size() / 2);
  StallingServer server(part, bytes);
  StreamSource source("tcp://127.0.0.1:" + std::to_string(server.port()), fast_options());
  std::vector<double> times;
  for (;;) {
    auto frame = source.next(-1);
    ASSERT_TRUE(frame.ok()) << frame.status().to_string();
    if (!frame->has_value()) break;
    times.push_back((*frame)->timestamp);
  }
  EXPECT_EQ(source.reconnects(), 1);
  // Some frames of the first connection, then all 30 of the second.
  ASSERT_GT(times.size(), 31u);
  ASSERT_LT(times.size(), 60u);
  for (size_t i = 1; i < times.size(); ++i) EXPECT_GT(times[i], times[i - 1]) << i;
  const size_t first = times.size() - 30;
  // The second connection's first frame comes one frame period after the last one before it.
  EXPECT_NEAR(times[first] - times[first - 1], 0.1, 1e-6);
  EXPECT_NEAR(times.back() - times[first], 2.9, 1e-6);
}

TEST(StreamSource, GivesUpAfterMaxReconnects) {
  if (ts_clip().empty()) GTEST_FAIL() << "the ffmpeg CLI could not make the test clip";
  const std::vector<uint8_t> bytes = testing::read_bytes(ts_clip());
  StallingServer server(std::vector<uint8_t>(bytes.begin(), bytes.begin() + bytes.size() / 2), {});
  StreamSourceOptions o = fast_options();
  o.max_reconnects = 0;
  StreamSource source("tcp://127.0.0.1:" + std::to_string(server.port()), o);
  Status st;
  for (;;) {
    auto frame = source.next(-1);
    if (!frame.ok()) {
      st = frame.status();
      break;
    }
    ASSERT_TRUE(frame->has_value()) << "the stream should stall, not end";
  }
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.to_string();
  EXPECT_EQ(source.reconnects(), 0);
}

TEST(StreamSource, MissingFileIsNotRetried) {
  StreamSource source(testing::scratch_dir() + "/missing.ts", fast_options());
  auto frame = source.next(0);
  EXPECT_EQ(frame.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(source.reconnects(), 0);
}

}  // namespace
}  // namespace vamba::pipelines
