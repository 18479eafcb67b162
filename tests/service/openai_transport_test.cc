// The pieces of the HTTP API around the wire format: noticing that a client went away
// (service/client_socket_watch.h), fetching a video URL with a size limit and timeouts
// (service/video_fetch.h), and the --http-port / --served-model-name options.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "service/client_socket_watch.h"
#include "service/serve_options.h"
#include "service/video_fetch.h"

namespace vamba::service {
namespace {

int port_of(int fd, bool peer) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  if (peer) {
    getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  } else {
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  }
  return ntohs(addr.sin_port);
}

TEST(ClientSocketWatch, SeesThePeerCloseTheConnection) {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  const int client = socket(AF_INET, SOCK_STREAM, 0);
  addr.sin_port = htons(static_cast<uint16_t>(port_of(listener, false)));
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const int server_side = accept(listener, nullptr, nullptr);
  ASSERT_GE(server_side, 0);

  // As httplib describes the request: our port, the peer's address and port.
  ClientSocketWatch watch(port_of(server_side, false), "127.0.0.1", port_of(server_side, true));
  ASSERT_TRUE(watch.found());
  EXPECT_FALSE(watch.client_gone());
  ASSERT_EQ(write(client, "x", 1), 1);  // a pipelined byte is not a goodbye
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(watch.client_gone());
  close(client);
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = watch.client_gone();
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(gone);

  ClientSocketWatch nobody(port_of(server_side, false), "127.0.0.1", 1);
  EXPECT_FALSE(nobody.found());
  EXPECT_FALSE(nobody.client_gone());
  close(server_side);
  close(listener);
}

// A local HTTP server with a few videos-to-be: bytes of a given size, a slow one, a missing one.
class FetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get("/small.mp4", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(1000, 'v'), "video/mp4");
    });
    server_.Get("/big.mp4", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(3 << 20, 'v'), "video/mp4");
    });
    // No Content-Length: the limit must hold while the body streams in.
    server_.Get("/big-chunked.mp4", [](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("video/mp4", [](size_t offset, httplib::DataSink& sink) {
        if (offset >= (size_t{3} << 20)) {
          sink.done();
          return true;
        }
        const std::string block(64 << 10, 'v');
        return sink.write(block.data(), block.size());
      });
    });
    server_.Get("/redirect.mp4", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("/small.mp4");
    });
    // A trickle: a byte every 200 ms, forever.
    server_.Get("/trickle.mp4", [](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("video/mp4", [](size_t, httplib::DataSink& sink) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        return sink.write("v", 1);
      });
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  void TearDown() override {
    server_.stop();
    thread_.join();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

TEST_F(FetchTest, FetchesFollowsRedirectsAndKeepsTheSizeLimit) {
  FetchLimits limits;
  limits.max_bytes = 1 << 20;
  auto small = fetch_url(url("/small.mp4"), limits);
  ASSERT_TRUE(small.ok()) << small.status().to_string();
  EXPECT_EQ(small->size(), 1000u);
  auto redirected = fetch_url(url("/redirect.mp4?x=1#frag"), limits);
  ASSERT_TRUE(redirected.ok()) << redirected.status().to_string();
  EXPECT_EQ(*redirected, *small);

  for (const char* path : {"/big.mp4", "/big-chunked.mp4"}) {
    auto big = fetch_url(url(path), limits);
    EXPECT_EQ(big.status().code(), StatusCode::kResourceExhausted) << path;
    EXPECT_NE(big.status().message().find("1 MiB"), std::string::npos) << big.status().message();
  }
  auto missing = fetch_url(url("/missing.mp4"), limits);
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("404"), std::string::npos)
      << missing.status().message();
  auto stopped = fetch_url(url("/small.mp4"), limits, [] { return true; });
  EXPECT_EQ(stopped.status().code(), StatusCode::kCancelled);
}

TEST_F(FetchTest, UnreachableAndSlowHostsFailWithinTheirTimeouts) {
  FetchLimits limits;
  limits.connect_timeout = std::chrono::seconds(2);
  limits.read_timeout = std::chrono::seconds(2);
  limits.total_timeout = std::chrono::seconds(1);
  const auto t0 = std::chrono::steady_clock::now();
  auto slow = fetch_url(url("/trickle.mp4"), limits);
  EXPECT_EQ(slow.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(slow.status().message().find("longer than 1 s"), std::string::npos)
      << slow.status().message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));

  // A port nobody listens on (ours, after the server is gone).
  server_.stop();
  thread_.join();
  thread_ = std::thread([] {});
  auto refused = fetch_url(url("/small.mp4"), limits);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("cannot fetch"), std::string::npos)
      << refused.status().message();
  auto not_url = fetch_url("http://", limits);
  EXPECT_EQ(not_url.status().code(), StatusCode::kInvalidArgument);
  auto with_user = fetch_url("http://user:pw@127.0.0.1/a.mp4", limits);
  EXPECT_EQ(with_user.status().code(), StatusCode::kInvalidArgument);
}

Status parse_serve(std::vector<std::string> args, ServeSettings* out) {
  CLI::App app("serve");
  add_serve_options(app, out);
  std::vector<const char*> argv = {"serve"};
  for (const auto& a : args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    return invalid_argument(e.what());
  }
  return finish_serve_settings(app, out);
}

TEST(HttpServeOptions, PortIsOffUnlessAskedAndTheModelIdIsTheFolderName) {
  ServeSettings plain;
  ASSERT_TRUE(parse_serve({"--model", "/models/Vamba-Qwen2-VL-7B/"}, &plain).ok());
  EXPECT_LT(plain.server.http_port, 0) << "no HTTP API unless asked";
  EXPECT_EQ(plain.server.served_model_name, "Vamba-Qwen2-VL-7B");

  ServeSettings named;
  ASSERT_TRUE(
      parse_serve({"--model", "m", "--http-port", "8000", "--served-model-name", "vamba"}, &named)
          .ok());
  EXPECT_EQ(named.server.http_port, 8000);
  EXPECT_EQ(named.server.served_model_name, "vamba");

  ServeSettings bad;
  EXPECT_FALSE(parse_serve({"--model", "m", "--http-port", "70000"}, &bad).ok());
}

}  // namespace
}  // namespace vamba::service
