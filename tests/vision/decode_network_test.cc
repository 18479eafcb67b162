// URL sources: decoding over HTTP from a local server, and the failure modes of the network
// (refused connection, a server that never answers, cancellation, HTTP 404) with their timeouts.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/testing/golden.h"
#include "tests/vision/test_clips.h"
#include "vision/decode/video_decoder.h"

namespace vamba::vision {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// An HTTP server on 127.0.0.1 serving magic.mp4 (with Range support) at /magic.mp4.
class LocalHttpServer {
 public:
  LocalHttpServer() {
    bytes_ = testing::read_bytes(testing::golden_path("vamba-tiny/magic.mp4"));
    server_.Get("/magic.mp4", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(reinterpret_cast<const char*>(bytes_.data()), bytes_.size(), "video/mp4");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 1000 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  ~LocalHttpServer() {
    server_.stop();
    thread_.join();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  std::vector<uint8_t> bytes_;
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
};

// A socket that listens but never accepts: connections complete in the kernel's backlog and then
// hear nothing, like a hung server.
class SilentServer {
 public:
  SilentServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(fd_, 16);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentServer() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A loopback port with nothing listening.
int closed_port() {
  SilentServer s;  // bound then closed when it goes out of scope
  return s.port();
}

TEST(DecodeNetwork, HttpDecodesLikeTheFile) {
  LocalHttpServer server;
  DecodeOptions options;
  options.connect_timeout = std::chrono::milliseconds(5000);
  options.read_timeout = std::chrono::milliseconds(5000);
  auto remote = VideoDecoder::open_url(server.url("/magic.mp4"), options);
  ASSERT_TRUE(remote.ok()) << remote.status().to_string();
  auto local = VideoDecoder::open_file(testing::golden_path("vamba-tiny/magic.mp4"));
  ASSERT_TRUE(local.ok());
  EXPECT_EQ((*remote)->info().frame_count, (*local)->info().frame_count);
  auto a = (*remote)->frames_at_indices({21, 336});
  auto b = (*local)->frames_at_indices({21, 336});
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*a)[0].rgb, (*b)[0].rgb);
  EXPECT_EQ((*a)[1].rgb, (*b)[1].rgb);
}

TEST(DecodeNetwork, MissingResourceIsNotFound) {
  LocalHttpServer server;
  auto decoder = VideoDecoder::open(server.url("/nothing.mp4"));
  EXPECT_EQ(decoder.status().code(), StatusCode::kNotFound) << decoder.status().to_string();
}

TEST(DecodeNetwork, RefusedConnectionIsUnavailable) {
  const auto t0 = Clock::now();
  auto decoder =
      VideoDecoder::open_url("http://127.0.0.1:" + std::to_string(closed_port()) + "/a.mp4");
  EXPECT_EQ(decoder.status().code(), StatusCode::kUnavailable) << decoder.status().to_string();
  EXPECT_LT(seconds_since(t0), 5.0);
}

TEST(DecodeNetwork, SilentServerTimesOut) {
  SilentServer silent;
  DecodeOptions options;
  options.connect_timeout = std::chrono::milliseconds(700);
  options.read_timeout = std::chrono::milliseconds(700);
  const auto t0 = Clock::now();
  auto decoder = VideoDecoder::open_url(
      "http://127.0.0.1:" + std::to_string(silent.port()) + "/a.mp4", options);
  const double elapsed = seconds_since(t0);
  EXPECT_EQ(decoder.status().code(), StatusCode::kUnavailable) << decoder.status().to_string();
  EXPECT_NE(decoder.status().message().find("timed out"), std::string::npos)
      << decoder.status().to_string();
  std::printf("[ metric ] silent server: gave up after %.2f s (timeout 0.7 s)\n", elapsed);
  EXPECT_LT(elapsed, 5.0);
}

TEST(DecodeNetwork, CancellationAbortsABlockingOpen) {
  SilentServer silent;
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  DecodeOptions options;
  options.connect_timeout = std::chrono::milliseconds(60000);
  options.read_timeout = std::chrono::milliseconds(60000);
  options.cancel = cancel;
  std::thread canceller([cancel] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel->store(true);
  });
  const auto t0 = Clock::now();
  auto decoder = VideoDecoder::open_url(
      "http://127.0.0.1:" + std::to_string(silent.port()) + "/a.mp4", options);
  const double elapsed = seconds_since(t0);
  canceller.join();
  EXPECT_EQ(decoder.status().code(), StatusCode::kCancelled) << decoder.status().to_string();
  std::printf("[ metric ] cancelled open returned after %.2f s (cancel at 0.3 s)\n", elapsed);
  EXPECT_LT(elapsed, 5.0);
}

TEST(DecodeNetwork, CancelledFlagStopsLocalDecoding) {
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  DecodeOptions options;
  options.cancel = cancel;
  auto decoder = VideoDecoder::open_file(testing::golden_path("vamba-tiny/magic.mp4"), options);
  ASSERT_TRUE(decoder.ok());
  cancel->store(true);
  auto frames = (*decoder)->frames_at_indices({300});
  EXPECT_EQ(frames.status().code(), StatusCode::kCancelled) << frames.status().to_string();
}

}  // namespace
}  // namespace vamba::vision
