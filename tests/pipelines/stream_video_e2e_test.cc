// StreamVideo end to end: a real `vamba serve` process (tiny checkpoint, CPU, loopback, bearer
// auth) and a C++ gRPC client that pushes an MPEG-TS byte stream (made with the ffmpeg CLI) in
// chunks. The server streams captions with increasing timestamps and a StreamEnd; the captions and
// answers equal what `vamba stream` prints for the same bytes and settings. A bad config, bytes
// that are not video, and a missing token are refused with the right codes.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <sstream>
#include <thread>

#include "tests/pipelines/cli_child.h"
#include "tests/service/server_process.h"
#include "tests/testing/golden.h"
#include "tests/vision/test_clips.h"
#include "vamba/v1/vamba.grpc.pb.h"

namespace vamba {
namespace {

namespace v1 = vamba::v1;
const char* kToken = "stream-token";
const char* kQuestion = "What is shown?";

const std::string& ts_clip() {
  static const std::string path = [] {
    const std::string p = testing::scratch_dir() + "/pushed.ts";
    return testing::run_ffmpeg(
               "-f lavfi -i testsrc=size=160x120:rate=10 -t 6 -c:v libx264 "
               "-preset ultrafast -g 5 -bf 0 -pix_fmt yuv420p -f mpegts \"" +
               p + "\"")
               ? p
               : std::string();
  }();
  return path;
}

struct StreamResult {
  grpc::Status status;
  std::vector<v1::StreamCaption> captions;
  std::vector<v1::StreamAnswer> answers;
  std::vector<v1::StreamEnd> ends;
};

v1::StreamConfig small_config() {
  v1::StreamConfig c;
  c.set_fps(2);
  c.set_caption_every_s(2);
  c.add_questions(kQuestion);
  c.set_ask_every_s(3);
  c.set_shortest_edge(56);
  c.set_longest_edge(112);
  c.mutable_generation()->set_max_tokens(3);
  return c;
}

class StreamVideoE2e : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new testing::ServerProcess();
    if (!server_->start(VAMBA_CLI_PATH,
                        {"--model", testing::golden_path("vamba-tiny"), "--device", "cpu", "--host",
                         "127.0.0.1", "--port", "0", "--auth-token", kToken})) {
      delete server_;
      server_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    if (server_) {
      EXPECT_EQ(server_->stop(), 0);
      delete server_;
      server_ = nullptr;
    }
  }
  void SetUp() override {
    if (!testing::ffmpeg_available() || ts_clip().empty())
      GTEST_FAIL() << "the ffmpeg CLI could not make the test clip";
    ASSERT_NE(server_, nullptr) << "vamba serve did not start";
    stub_ = v1::VideoQa::NewStub(
        grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  }

  // Sends the config, then `bytes` in chunks of `chunk` bytes, then half-closes and reads every
  // event.
  StreamResult stream(const v1::StreamConfig& config, const std::string& bytes,
                      size_t chunk = 16384, const std::string& token = kToken) {
    StreamResult r;
    grpc::ClientContext ctx;
    if (!token.empty()) ctx.AddMetadata("authorization", std::string("Bearer ") + token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    auto call = stub_->StreamVideo(&ctx);
    v1::StreamChunk first;
    *first.mutable_config() = config;
    bool open = call->Write(first);
    for (size_t at = 0; open && at < bytes.size(); at += chunk) {
      v1::StreamChunk c;
      c.set_data(bytes.substr(at, chunk));
      open = call->Write(c);
    }
    call->WritesDone();
    v1::StreamEvent e;
    while (call->Read(&e)) {
      if (e.has_caption()) r.captions.push_back(e.caption());
      if (e.has_answer()) r.answers.push_back(e.answer());
      if (e.has_end()) r.ends.push_back(e.end());
    }
    r.status = call->Finish();
    return r;
  }

  static testing::ServerProcess* server_;
  std::unique_ptr<v1::VideoQa::Stub> stub_;
};
testing::ServerProcess* StreamVideoE2e::server_ = nullptr;

TEST_F(StreamVideoE2e, CaptionsAndAnswersMatchTheCli) {
  const std::string bytes = [] {
    const auto b = testing::read_bytes(ts_clip());
    return std::string(b.begin(), b.end());
  }();
  const StreamResult r = stream(small_config(), bytes);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  ASSERT_EQ(r.captions.size(), 3u);
  for (size_t k = 0; k < r.captions.size(); ++k) {
    EXPECT_NEAR(r.captions[k].start_s(), 2.0 * k, 1e-6);
    EXPECT_NEAR(r.captions[k].end_s(), 2.0 * (k + 1), 1e-6);
    EXPECT_EQ(r.captions[k].frames(), 4);
  }
  ASSERT_EQ(r.answers.size(), 2u);
  ASSERT_EQ(r.ends.size(), 1u);
  EXPECT_EQ(r.ends[0].bytes_received(), static_cast<int64_t>(bytes.size()));
  EXPECT_NEAR(r.ends[0].duration_s(), 6.0, 1e-6);
  EXPECT_EQ(r.ends[0].frames(), 12);

  // `vamba stream` on the same bytes with the same settings says the same.
  int status = 0;
  const std::string out = testing::run_shell(
      std::string(VAMBA_CLI_PATH) + " stream --model " + testing::golden_path("vamba-tiny") +
          " --source pipe:0 --fps 2 --caption-every 2s --ask '" + kQuestion +
          "' --every 3s --max-new-tokens 3 --device cpu --shortest-edge 56 --longest-edge 112 "
          "--window-tokens 32768 < " +
          ts_clip(),
      &status);
  ASSERT_EQ(status, 0) << out;
  std::vector<std::string> cli_captions, cli_answers;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    const nlohmann::json j = nlohmann::json::parse(line);
    if (j["type"] == "caption") cli_captions.push_back(j["text"]);
    if (j["type"] == "answer") cli_answers.push_back(j["text"]);
  }
  ASSERT_EQ(cli_captions.size(), r.captions.size());
  for (size_t k = 0; k < cli_captions.size(); ++k) EXPECT_EQ(r.captions[k].text(), cli_captions[k]);
  ASSERT_EQ(cli_answers.size(), r.answers.size());
  for (size_t k = 0; k < cli_answers.size(); ++k) EXPECT_EQ(r.answers[k].text(), cli_answers[k]);
}

TEST_F(StreamVideoE2e, SmallChunksAndAWindow) {
  const auto b = testing::read_bytes(ts_clip());
  v1::StreamConfig config = small_config();
  config.set_window_tokens(30);
  config.clear_questions();
  const StreamResult r = stream(config, std::string(b.begin(), b.end()), 777);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  ASSERT_EQ(r.ends.size(), 1u);
  EXPECT_LE(r.ends[0].video_tokens_held(), 30);
  EXPECT_GT(r.ends[0].video_tokens_dropped(), 0);
  EXPECT_EQ(r.captions.size(), 3u);
}

TEST_F(StreamVideoE2e, RefusesBadConfigGarbageAndMissingToken) {
  v1::StreamConfig bad = small_config();
  bad.set_fps(1000);
  EXPECT_EQ(stream(bad, "").status.error_code(), grpc::INVALID_ARGUMENT);
  const StreamResult garbage = stream(small_config(), std::string(100000, 'z'));
  EXPECT_EQ(garbage.status.error_code(), grpc::INVALID_ARGUMENT) << garbage.status.error_message();
  EXPECT_EQ(stream(small_config(), "", 16384, "").status.error_code(), grpc::UNAUTHENTICATED);
}

// 4 s of video padded to 16 Mbit/s (MPEG-TS null packets): about 8 MB, past the server's 4 MiB
// high-water mark, so its reads pause and resume while the demuxer catches up.
TEST_F(StreamVideoE2e, LargeStreamPausesAndResumesReading) {
  const std::string padded = testing::scratch_dir() + "/padded.ts";
  ASSERT_TRUE(testing::run_ffmpeg(
      "-f lavfi -i testsrc=size=160x120:rate=10 -t 4 -c:v libx264 -preset ultrafast -g 5 -bf 0 "
      "-pix_fmt yuv420p -f mpegts -muxrate 16000000 \"" +
      padded + "\""));
  const auto b = testing::read_bytes(padded);
  ASSERT_GT(b.size(), 6u << 20);
  v1::StreamConfig config = small_config();
  config.clear_questions();
  const StreamResult r = stream(config, std::string(b.begin(), b.end()), 1 << 20);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  ASSERT_EQ(r.ends.size(), 1u);
  EXPECT_EQ(r.ends[0].bytes_received(), static_cast<int64_t>(b.size()));
  EXPECT_EQ(r.captions.size(), 2u);
}

TEST_F(StreamVideoE2e, ClientCancelEndsTheCallAndTheServerGoesOn) {
  const auto b = testing::read_bytes(ts_clip());
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", std::string("Bearer ") + kToken);
    auto call = stub_->StreamVideo(&ctx);
    v1::StreamChunk first;
    *first.mutable_config() = small_config();
    ASSERT_TRUE(call->Write(first));
    v1::StreamChunk half;
    half.set_data(std::string(b.begin(), b.begin() + b.size() / 2));
    ASSERT_TRUE(call->Write(half));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ctx.TryCancel();
    v1::StreamEvent e;
    while (call->Read(&e)) {
    }
    EXPECT_EQ(call->Finish().error_code(), grpc::CANCELLED);
  }
  // The worker and the server are free for the next stream.
  const StreamResult r = stream(small_config(), std::string(b.begin(), b.end()));
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.captions.size(), 3u);
}

}  // namespace
}  // namespace vamba
