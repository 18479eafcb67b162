// `vamba serve` end to end: a real server process on 127.0.0.1 (port chosen by the system) with the
// tiny checkpoint on the CPU, a C++ gRPC client, and `vamba ask` as the reference for answers.
// Frames and sizes are kept small (8 frames, 112/224 px) so each test takes seconds.
//
// The server is configured by a JSON file (--config) plus one flag that overrides it, and may read
// local files only under one allowed root in a scratch folder: the clip is copied there, another
// copy sits outside it, and a symlink inside points outside.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <thread>

#include "service/health_client.h"
#include "tests/service/server_process.h"
#include "tests/testing/golden.h"
#include "vamba/v1/vamba.grpc.pb.h"

namespace vamba {
namespace {

namespace v1 = vamba::v1;
using testing::golden_path;
using Clock = std::chrono::steady_clock;

const char* kToken = "test-token-123";
const char* kQuestion = "What happens in the video?";
constexpr int kMaxTokens = 12;

std::string model_dir() { return golden_path("vamba-tiny"); }

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The scratch tree of this test process (removed at exit):
//   base/root/magic.mp4        the clip, inside the server's allowed root
//   base/root/escape.mp4       a symlink to base/outside/magic.mp4
//   base/outside/magic.mp4     the same clip, outside the root
//   base/token.txt, base/serve.json
struct Scratch {
  std::filesystem::path base, root, outside;
  Scratch() {
    namespace fs = std::filesystem;
    std::string pattern = (fs::temp_directory_path() / "vamba_service_e2e_XXXXXX").string();
    if (!mkdtemp(pattern.data())) return;
    base = fs::canonical(pattern);
    root = base / "root";
    outside = base / "outside";
    fs::create_directories(root);
    fs::create_directories(outside);
    const fs::path golden_clip = golden_path("vamba-tiny/magic.mp4");
    std::error_code ec;
    fs::copy_file(golden_clip, root / "magic.mp4", ec);
    fs::copy_file(golden_clip, outside / "magic.mp4", ec);
    fs::create_symlink(outside / "magic.mp4", root / "escape.mp4", ec);
  }
  ~Scratch() {
    std::error_code ec;
    if (!base.empty()) std::filesystem::remove_all(base, ec);
  }
};
const Scratch& scratch() {
  static Scratch s;
  return s;
}
std::string clip_path() { return (scratch().root / "magic.mp4").string(); }
std::string outside_clip_path() { return (scratch().outside / "magic.mp4").string(); }

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = (scratch().base / name).string();
  std::ofstream(path) << text;
  return path;
}

struct AskResult {
  grpc::Status status;
  std::vector<std::string> deltas;
  bool has_done = false;
  v1::AskSummary done;
  double wall_s = 0;
  std::string joined() const {
    std::string s;
    for (const auto& d : deltas) s += d;
    return s;
  }
};

// The reference: `vamba ask --json` on the same clip and options (one process, greedy).
struct Reference {
  std::string answer;
  std::vector<int64_t> tokens;
};

class ServiceE2e : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new testing::ServerProcess();
    // Most settings come from the config file; --default-frames on the command line overrides the
    // file's 4 (ConfigFileAndFlagOverride checks which one won).
    const std::string token_file = write_file("token.txt", std::string(kToken) + "\n");
    nlohmann::json config = {{"model", model_dir()},
                             {"device", "cpu"},
                             {"host", "127.0.0.1"},
                             {"port", 0},
                             {"auth_token_file", token_file},
                             {"metrics_port", 0},
                             {"default_frames", 4},
                             {"max_tokens", 100000},
                             {"token_budget", 50000},
                             {"cache_mb", 256},
                             {"allowed_roots", {scratch().root.string()}},
                             {"log_level", "info"}};
    const std::string config_file = write_file("serve.json", config.dump(2));
    const bool ok = server_->start(VAMBA_BIN, {"--config", config_file, "--default-frames", "8"},
                                   120, /*wait_for_metrics=*/true);
    if (!ok) {
      delete server_;
      server_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    if (server_) {
      // Graceful shutdown: SIGTERM drains and the process exits 0.
      const int code = server_->stop();
      EXPECT_EQ(code, 0) << "vamba serve did not exit cleanly on SIGTERM";
      delete server_;
      server_ = nullptr;
    }
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr) << "vamba serve did not start";
    channel_ = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    stub_ = v1::VideoQa::NewStub(channel_);
  }

  static void small_sampling(v1::Sampling* s) {
    s->set_frames(8);
    s->set_shortest_edge(112);
    s->set_longest_edge(224);
  }

  static v1::AskRequest ask_request(int max_tokens = kMaxTokens) {
    v1::AskRequest req;
    small_sampling(req.mutable_sampling());
    req.set_question(kQuestion);
    req.mutable_generation()->set_max_tokens(max_tokens);
    return req;
  }

  // Streams one Ask; `on_delta` may cancel the context. `token` empty: no auth metadata.
  AskResult ask(const v1::AskRequest& req, const std::string& token = kToken,
                double timeout_s = 120,
                const std::function<void(grpc::ClientContext*, size_t)>& on_delta = {}) {
    AskResult r;
    grpc::ClientContext ctx;
    if (!token.empty()) ctx.AddMetadata("authorization", std::string("Bearer ") + token);
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000)));
    const auto t0 = Clock::now();
    auto reader = stub_->Ask(&ctx, req);
    v1::AskResponse msg;
    while (reader->Read(&msg)) {
      if (msg.has_done()) {
        r.has_done = true;
        r.done = msg.done();
      } else {
        r.deltas.push_back(msg.delta());
        if (on_delta) on_delta(&ctx, r.deltas.size());
      }
    }
    r.status = reader->Finish();
    r.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
    return r;
  }

  grpc::Status encode(const v1::VideoSource& src, v1::VideoRef* ref) {
    v1::EncodeRequest req;
    *req.mutable_video() = src;
    small_sampling(req.mutable_sampling());
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", std::string("Bearer ") + kToken);
    return stub_->EncodeVideo(&ctx, req, ref);
  }

  static const Reference& reference() {
    static Reference* ref = [] {
      auto* r = new Reference();
      int status = 0;
      const std::string cmd = std::string(VAMBA_BIN) + " ask --model '" + model_dir() +
                              "' --video '" + clip_path() + "' -q '" + kQuestion +
                              "' --device cpu --frames 8 --shortest-edge 112 --longest-edge 224 "
                              "--max-new-tokens " +
                              std::to_string(kMaxTokens) + " --json";
      const std::string out = testing::run_command(cmd, &status);
      EXPECT_EQ(status, 0) << cmd;
      // The answer's JSON object (keys sorted, so "answer" opens it; it holds nested objects).
      const size_t start = out.rfind("{\"answer\"");
      if (status == 0 && start != std::string::npos) {
        auto j = nlohmann::json::parse(out.substr(start));
        r->answer = j.at("answer").get<std::string>();
        r->tokens = j.at("tokens").get<std::vector<int64_t>>();
      }
      return r;
    }();
    return *ref;
  }

  static void expect_matches_reference(const AskResult& r) {
    ASSERT_TRUE(r.status.ok()) << r.status.error_code() << " " << r.status.error_message();
    ASSERT_TRUE(r.has_done);
    const Reference& ref = reference();
    ASSERT_FALSE(ref.tokens.empty()) << "vamba ask gave no reference tokens";
    EXPECT_EQ(std::vector<int64_t>(r.done.tokens().begin(), r.done.tokens().end()), ref.tokens);
    EXPECT_EQ(r.joined(), r.done.text()) << "the deltas must concatenate to the final text";
    EXPECT_EQ(r.done.text(), ref.answer);
    EXPECT_EQ(r.done.frames_used(), 8);
    EXPECT_GT(r.done.video_tokens(), 0);
    EXPECT_EQ(r.done.completion_tokens(), static_cast<int64_t>(ref.tokens.size()));
  }

  static testing::ServerProcess* server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::VideoQa::Stub> stub_;
};

testing::ServerProcess* ServiceE2e::server_ = nullptr;

TEST_F(ServiceE2e, HealthIsServing) {
  auto overall = service::check_health(channel_, "");
  ASSERT_TRUE(overall.ok()) << overall.status().to_string();
  EXPECT_EQ(*overall, service::HealthStatus::kServing);
  auto named = service::check_health(channel_, "vamba.v1.VideoQa");
  ASSERT_TRUE(named.ok()) << named.status().to_string();
  EXPECT_EQ(*named, service::HealthStatus::kServing);
  auto unknown = service::check_health(channel_, "no.such.Service");
  EXPECT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
}

// Server reflection answers list_services with our service, as grpcurl would ask it. The request
// is a hand-encoded grpc.reflection.v1alpha.ServerReflectionRequest { list_services = "" } (field
// 7), since Debian installs no generated code for the reflection proto.
class ReflectionCall : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  ReflectionCall(grpc::GenericStub* stub, grpc::ClientContext* ctx) {
    const std::string req("\x3a\x00", 2);
    grpc::Slice slice(req);
    request_ = grpc::ByteBuffer(&slice, 1);
    stub->PrepareBidiStreamingCall(ctx,
                                   "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                   grpc::StubOptions(), this);
    StartWrite(&request_);
    StartRead(&response_);
    StartCall();
  }
  void OnWriteDone(bool ok) override { StartWritesDone(); }
  void OnReadDone(bool ok) override {
    if (ok) {
      std::vector<grpc::Slice> slices;
      if (response_.Dump(&slices).ok()) {
        for (const auto& s : slices)
          body_.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
      StartRead(&response_);
    }
  }
  void OnDone(const grpc::Status& s) override {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = s;
    done_ = true;
    cv_.notify_one();
  }
  grpc::Status wait(std::string* body) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return done_; });
    *body = body_;
    return status_;
  }

 private:
  grpc::ByteBuffer request_, response_;
  std::string body_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  grpc::Status status_;
};

TEST_F(ServiceE2e, ReflectionListsTheService) {
  grpc::GenericStub stub(channel_);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  ReflectionCall call(&stub, &ctx);
  std::string body;
  grpc::Status s = call.wait(&body);
  ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  EXPECT_NE(body.find("vamba.v1.VideoQa"), std::string::npos);
  EXPECT_NE(body.find("grpc.health.v1.Health"), std::string::npos);
}

TEST_F(ServiceE2e, AskByPathStreamsTheSameAnswerAsVambaAsk) {
  auto req = ask_request();
  req.mutable_video()->set_uri(clip_path());
  AskResult r = ask(req);
  expect_matches_reference(r);
  EXPECT_EQ(r.done.finish_reason(), "length");
  EXPECT_FALSE(r.done.video_cached());
  EXPECT_GT(r.done.timings().decode_s(), 0);
  EXPECT_GT(r.done.timings().time_to_first_token_s(), 0);
  EXPECT_GT(r.deltas.size(), 1u) << "the answer must arrive in several pieces";
}

TEST_F(ServiceE2e, AskWithInlineBytes) {
  auto req = ask_request();
  req.mutable_video()->set_data(read_bytes(clip_path()));
  expect_matches_reference(ask(req));
}

TEST_F(ServiceE2e, UploadThenAskById) {
  const std::string data = read_bytes(clip_path());
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", std::string("Bearer ") + kToken);
  v1::VideoRef ref;
  auto writer = stub_->UploadVideo(&ctx, &ref);
  const size_t chunk = 64 << 10;
  size_t chunks = 0;
  for (size_t at = 0; at < data.size(); at += chunk, ++chunks) {
    v1::UploadChunk c;
    c.set_data(data.substr(at, chunk));
    ASSERT_TRUE(writer->Write(c));
  }
  ASSERT_GT(chunks, 1u) << "the clip should need several chunks";
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(ref.kind(), "raw");
  EXPECT_EQ(ref.bytes(), static_cast<int64_t>(data.size()));

  auto req = ask_request();
  req.mutable_video()->set_video_id(ref.video_id());
  expect_matches_reference(ask(req));
}

TEST_F(ServiceE2e, EncodeOnceThenAskTwiceWithoutReencoding) {
  v1::VideoSource src;
  src.set_uri(clip_path());
  v1::VideoRef ref;
  grpc::Status s = encode(src, &ref);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(ref.kind(), "encoded");
  EXPECT_EQ(ref.frames_used(), 8);
  EXPECT_GT(ref.bytes(), 0);
  EXPECT_GT(ref.timings().decode_s(), 0);

  auto by_path = ask_request();
  by_path.mutable_video()->set_uri(clip_path());
  AskResult raw = ask(by_path);
  expect_matches_reference(raw);

  auto by_id = ask_request();
  by_id.mutable_video()->set_video_id(ref.video_id());
  for (int i = 0; i < 2; ++i) {
    AskResult r = ask(by_id);
    expect_matches_reference(r);
    EXPECT_TRUE(r.done.video_cached());
    EXPECT_EQ(r.done.timings().decode_s(), 0) << "an encoded id must not be decoded again";
    EXPECT_EQ(r.done.timings().vision_s(), 0) << "an encoded id must not be encoded again";
    // Only the text runs: faster than the same question on the raw video (decode + encode).
    EXPECT_LT(r.wall_s, raw.wall_s);
  }
}

TEST_F(ServiceE2e, CorruptVideoIsInvalidArgumentAndTheServerKeepsServing) {
  std::string data = read_bytes(clip_path());
  ASSERT_GT(data.size(), 4096u);
  // Keep the MP4 signature area but overwrite everything after it with junk.
  for (size_t i = 64; i < data.size(); ++i) data[i] = static_cast<char>((i * 131) ^ 0x5a);
  auto req = ask_request();
  req.mutable_video()->set_data(data);
  AskResult bad = ask(req);
  EXPECT_EQ(bad.status.error_code(), grpc::INVALID_ARGUMENT) << bad.status.error_message();
  EXPECT_FALSE(bad.status.error_message().empty());

  auto junk = ask_request();
  junk.mutable_video()->set_data("definitely not a video");
  EXPECT_EQ(ask(junk).status.error_code(), grpc::INVALID_ARGUMENT);

  auto good = ask_request();
  good.mutable_video()->set_uri(clip_path());
  expect_matches_reference(ask(good));
}

TEST_F(ServiceE2e, UnknownOrDeletedIdIsNotFound) {
  auto req = ask_request();
  req.mutable_video()->set_video_id("v-does-not-exist");
  AskResult r = ask(req);
  EXPECT_EQ(r.status.error_code(), grpc::NOT_FOUND) << r.status.error_message();

  v1::VideoSource src;
  src.set_uri(clip_path());
  v1::VideoRef ref;
  ASSERT_TRUE(encode(src, &ref).ok());
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", std::string("Bearer ") + kToken);
    v1::DeleteVideoRequest del;
    del.set_video_id(ref.video_id());
    v1::DeleteVideoResponse resp;
    ASSERT_TRUE(stub_->DeleteVideo(&ctx, del, &resp).ok());
  }
  req.mutable_video()->set_video_id(ref.video_id());
  EXPECT_EQ(ask(req).status.error_code(), grpc::NOT_FOUND);
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", std::string("Bearer ") + kToken);
    v1::DeleteVideoRequest del;
    del.set_video_id(ref.video_id());
    v1::DeleteVideoResponse resp;
    EXPECT_EQ(stub_->DeleteVideo(&ctx, del, &resp).error_code(), grpc::NOT_FOUND);
  }
}

TEST_F(ServiceE2e, MissingOrWrongTokenIsUnauthenticated) {
  auto req = ask_request();
  req.mutable_video()->set_uri(clip_path());
  EXPECT_EQ(ask(req, "").status.error_code(), grpc::UNAUTHENTICATED);
  EXPECT_EQ(ask(req, "wrong-token").status.error_code(), grpc::UNAUTHENTICATED);
  grpc::ClientContext ctx;  // no token
  v1::EncodeRequest enc;
  enc.mutable_video()->set_uri(clip_path());
  v1::VideoRef ref;
  EXPECT_EQ(stub_->EncodeVideo(&ctx, enc, &ref).error_code(), grpc::UNAUTHENTICATED);
}

TEST_F(ServiceE2e, MalformedRequestsAreInvalidArgumentNamingTheField) {
  auto both = ask_request();
  both.mutable_video()->set_uri(clip_path());
  both.mutable_sampling()->set_fps(2);
  AskResult r = ask(both);
  EXPECT_EQ(r.status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_NE(r.status.error_message().find("sampling.fps"), std::string::npos)
      << r.status.error_message();

  auto no_question = ask_request();
  no_question.mutable_video()->set_uri(clip_path());
  no_question.clear_question();
  r = ask(no_question);
  EXPECT_EQ(r.status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_NE(r.status.error_message().find("question"), std::string::npos);

  auto no_video = ask_request();
  r = ask(no_video);
  EXPECT_EQ(r.status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_NE(r.status.error_message().find("video"), std::string::npos);

  auto bad_top_p = ask_request();
  bad_top_p.mutable_video()->set_uri(clip_path());
  bad_top_p.mutable_generation()->set_top_p(1.5f);
  r = ask(bad_top_p);
  EXPECT_EQ(r.status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_NE(r.status.error_message().find("top_p"), std::string::npos);

  auto missing_file = ask_request();
  missing_file.mutable_video()->set_uri(clip_path() + ".missing");
  EXPECT_EQ(ask(missing_file).status.error_code(), grpc::NOT_FOUND);
}

TEST_F(ServiceE2e, OverBudgetRequestIsResourceExhausted) {
  // The server runs with --token-budget 50000: one answer of 60000 tokens can never be admitted.
  auto req = ask_request(60000);
  req.mutable_video()->set_uri(clip_path());
  AskResult r = ask(req);
  EXPECT_EQ(r.status.error_code(), grpc::RESOURCE_EXHAUSTED) << r.status.error_message();
}

TEST_F(ServiceE2e, CancellationStopsGenerationMidway) {
  auto req = ask_request(4000);  // far longer than the test waits for
  req.mutable_video()->set_uri(clip_path());
  const auto t0 = Clock::now();
  AskResult r = ask(req, kToken, 120, [](grpc::ClientContext* ctx, size_t n) {
    if (n == 3) ctx->TryCancel();
  });
  EXPECT_EQ(r.status.error_code(), grpc::CANCELLED);
  EXPECT_FALSE(r.has_done);
  EXPECT_GE(r.deltas.size(), 3u);
  EXPECT_LT(r.deltas.size(), 4000u);

  // The worker must be free again at once: the next request does not wait behind 4000 tokens.
  auto next = ask_request();
  next.mutable_video()->set_uri(clip_path());
  AskResult after = ask(next);
  expect_matches_reference(after);
  EXPECT_LT(after.done.timings().queue_s(), 2.0) << "the cancelled generation kept running";
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 60.0);
}

TEST_F(ServiceE2e, DeadlineStopsGeneration) {
  auto req = ask_request(4000);
  req.mutable_video()->set_uri(clip_path());
  AskResult r = ask(req, kToken, /*timeout_s=*/3.0);
  EXPECT_EQ(r.status.error_code(), grpc::DEADLINE_EXCEEDED);
  auto next = ask_request();
  next.mutable_video()->set_uri(clip_path());
  AskResult after = ask(next);
  expect_matches_reference(after);
  EXPECT_LT(after.done.timings().queue_s(), 2.0) << "the expired generation kept running";
}

TEST_F(ServiceE2e, CaptionStreamsOneSegmentPerRange) {
  v1::CaptionRequest req;
  req.mutable_video()->set_uri(clip_path());
  req.set_segment_s(2.5);  // the 6 s clip: [0, 2.5), [2.5, 5), [5, 6)
  req.mutable_sampling()->set_frames(4);
  req.mutable_sampling()->set_shortest_edge(112);
  req.mutable_sampling()->set_longest_edge(224);
  req.mutable_generation()->set_max_tokens(4);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", std::string("Bearer ") + kToken);
  auto reader = stub_->Caption(&ctx, req);
  std::vector<v1::CaptionSegment> segs;
  v1::CaptionSegment seg;
  while (reader->Read(&seg)) segs.push_back(seg);
  grpc::Status s = reader->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(segs.size(), 3u);
  for (size_t i = 0; i < segs.size(); ++i) {
    EXPECT_EQ(segs[i].index(), static_cast<int64_t>(i));
    EXPECT_DOUBLE_EQ(segs[i].start_s(), 2.5 * i);
    EXPECT_GT(segs[i].end_s(), segs[i].start_s());
    EXPECT_FALSE(segs[i].text().empty());
    EXPECT_GT(segs[i].frames_used(), 0);
  }
  EXPECT_NEAR(segs.back().end_s(), 6.0, 0.1);
}

// The value of one series ("name" or "name{labels}") in a Prometheus text page; -1 if absent.
double metric(const std::string& page, const std::string& series) {
  size_t at = 0;
  while ((at = page.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || page[at - 1] == '\n') return std::atof(page.c_str() + at + series.size() + 1);
    at += series.size();
  }
  return -1;
}

std::string scrape(int port) {
  httplib::Client http("127.0.0.1", port);
  auto res = http.Get("/metrics");
  if (!res || res->status != 200) return "";
  return res->body;
}

TEST_F(ServiceE2e, MetricsEndpointCountsRequests) {
  ASSERT_GT(server_->metrics_port(), 0);
  const std::string before = scrape(server_->metrics_port());
  ASSERT_FALSE(before.empty()) << "no answer from /metrics";
  auto series_or_zero = [](const std::string& page, const std::string& series) {
    return std::max(0.0, metric(page, series));
  };

  // One Ask that decodes 8 frames, one kept encoded video, one NOT_FOUND.
  auto req = ask_request();
  req.mutable_video()->set_uri(clip_path());
  ASSERT_TRUE(ask(req).status.ok());
  v1::VideoSource src;
  src.set_uri(clip_path());
  v1::VideoRef ref;
  ASSERT_TRUE(encode(src, &ref).ok());
  auto missing = ask_request();
  missing.mutable_video()->set_video_id("v-not-kept");
  ASSERT_EQ(ask(missing).status.error_code(), grpc::NOT_FOUND);

  const std::string page = scrape(server_->metrics_port());
  ASSERT_FALSE(page.empty());
  const std::string ask_ok = "vamba_requests_total{method=\"Ask\",code=\"OK\"}";
  const std::string ask_missing = "vamba_requests_total{method=\"Ask\",code=\"NOT_FOUND\"}";
  const std::string encode_ok = "vamba_requests_total{method=\"EncodeVideo\",code=\"OK\"}";
  EXPECT_EQ(metric(page, ask_ok), series_or_zero(before, ask_ok) + 1) << page;
  EXPECT_EQ(metric(page, ask_missing), series_or_zero(before, ask_missing) + 1);
  EXPECT_EQ(metric(page, encode_ok), series_or_zero(before, encode_ok) + 1);

  // Two encodes of 8 frames each (the Ask's and EncodeVideo's).
  EXPECT_EQ(metric(page, "vamba_frames_decoded_total"),
            series_or_zero(before, "vamba_frames_decoded_total") + 16);
  EXPECT_EQ(metric(page, "vamba_time_to_first_token_seconds_count"),
            series_or_zero(before, "vamba_time_to_first_token_seconds_count") + 1);
  EXPECT_EQ(metric(page, "vamba_tokens_per_second_count"),
            series_or_zero(before, "vamba_tokens_per_second_count") + 1);
  EXPECT_EQ(metric(page, "vamba_tokens_generated_total"),
            series_or_zero(before, "vamba_tokens_generated_total") + kMaxTokens);
  EXPECT_GT(metric(page, "vamba_time_to_first_token_seconds_sum"), 0);

  // Gauges: the kept video, the idle queue, the CPU allocator's bytes (the model's weights at
  // least), labelled with the device.
  EXPECT_GE(metric(page, "vamba_cached_videos"), 1);
  EXPECT_GE(metric(page, "vamba_cache_bytes"), static_cast<double>(ref.bytes()));
  EXPECT_EQ(metric(page, "vamba_cache_budget_bytes"), 256.0 * (1 << 20));
  EXPECT_EQ(metric(page, "vamba_queue_depth"), 0);
  EXPECT_EQ(metric(page, "vamba_decode_batch"), 0);  // nothing being generated now
  const double in_use = metric(page, "vamba_device_memory_in_use_bytes{device=\"cpu\"}");
  EXPECT_GT(in_use, 0) << page;
  EXPECT_GE(metric(page, "vamba_device_memory_peak_bytes{device=\"cpu\"}"), in_use);
  EXPECT_GE(metric(page, "vamba_device_memory_reserved_bytes{device=\"cpu\"}"), in_use);
  EXPECT_NE(page.find("# TYPE vamba_device_memory_in_use_bytes gauge"), std::string::npos);
}

TEST_F(ServiceE2e, ConfigFileAndFlagOverride) {
  // The file says default_frames 4, the command line 8: the flag wins.
  auto req = ask_request();
  req.mutable_sampling()->set_frames(0);
  req.mutable_video()->set_uri(clip_path());
  AskResult r = ask(req);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.done.frames_used(), 8);
  // max_tokens 100000 comes from the file.
  auto over = ask_request(100001);
  over.mutable_video()->set_uri(clip_path());
  AskResult refused = ask(over);
  EXPECT_EQ(refused.status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_NE(refused.status.error_message().find("100000"), std::string::npos)
      << refused.status.error_message();
}

TEST(ServeConfigProcess, BadConfigFailsAtStartNamingTheKey) {
  const std::string bad = write_file("bad.json", R"({"model": "/m", "max_frame": 8})");
  int status = 0;
  const std::string out =
      testing::run_command(std::string(VAMBA_BIN) + " serve --config '" + bad + "' 2>&1", &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("unknown key 'max_frame'"), std::string::npos) << out;

  const std::string missing_root =
      write_file("missing_root.json", nlohmann::json({{"model", model_dir()},
                                                      {"device", "cpu"},
                                                      {"port", 0},
                                                      {"allowed_roots", {"/no/such/folder"}}})
                                          .dump());
  const std::string out2 = testing::run_command(
      std::string(VAMBA_BIN) + " serve --config '" + missing_root + "' 2>&1", &status);
  EXPECT_NE(status, 0) << out2;
  EXPECT_NE(out2.find("/no/such/folder"), std::string::npos) << out2;
}

TEST_F(ServiceE2e, LocalPathsOutsideTheAllowedRootArePermissionDenied) {
  const std::vector<std::string> escapes = {
      outside_clip_path(),
      "file://" + outside_clip_path(),
      (scratch().root / ".." / "outside" / "magic.mp4").string(),
      (scratch().root / "escape.mp4").string(),  // symlink to outside
      (scratch().base / "root" / ".." / "outside" / "nope.mp4").string(),
      "/etc/passwd",
      "pipe://0",
  };
  for (const std::string& uri : escapes) {
    auto req = ask_request();
    req.mutable_video()->set_uri(uri);
    AskResult r = ask(req);
    EXPECT_EQ(r.status.error_code(), grpc::PERMISSION_DENIED)
        << uri << ": " << r.status.error_message();
    EXPECT_FALSE(r.status.error_message().empty());
    if (uri.find("escape.mp4") != std::string::npos) {
      EXPECT_EQ(r.status.error_message().find(outside_clip_path()), std::string::npos)
          << "the message must not reveal where a symlink points";
    }
  }
  // EncodeVideo and Caption check the same way.
  v1::VideoSource src;
  src.set_uri((scratch().root / "escape.mp4").string());
  v1::VideoRef ref;
  EXPECT_EQ(encode(src, &ref).error_code(), grpc::PERMISSION_DENIED);
  v1::CaptionRequest cap;
  cap.mutable_video()->set_uri(outside_clip_path());
  cap.set_segment_s(2);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", std::string("Bearer ") + kToken);
  auto reader = stub_->Caption(&ctx, cap);
  v1::CaptionSegment seg;
  while (reader->Read(&seg)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::PERMISSION_DENIED);

  // Inside the root: a path with ".." that stays inside, and file://, both work; the server kept
  // serving.
  auto good = ask_request();
  good.mutable_video()->set_uri((scratch().root / ".." / "root" / "magic.mp4").string());
  expect_matches_reference(ask(good));
  good.mutable_video()->set_uri("file://" + clip_path());
  expect_matches_reference(ask(good));
}

// 16 clients at once, a mix of the same video (by path and by encoded id), four questions, greedy
// and seeded sampling: every answer equals the one a single Ask gives for the same input.
TEST_F(ServiceE2e, ConcurrentClientsGetTheAnswersOfSingleAsks) {
  const std::vector<std::string> questions = {kQuestion, "What colour is the ball?",
                                              "Describe the scene.", "Is anyone there?"};
  constexpr int kTokens = 8;
  v1::VideoSource src;
  src.set_uri(clip_path());
  v1::VideoRef ref;
  ASSERT_TRUE(encode(src, &ref).ok());

  auto request = [&](int question, bool sampled, bool by_id) {
    auto req = ask_request(kTokens);
    req.set_question(questions[question]);
    if (by_id) {
      req.mutable_video()->set_video_id(ref.video_id());
    } else {
      req.mutable_video()->set_uri(clip_path());
    }
    if (sampled) {
      req.mutable_generation()->set_temperature(0.9f);
      req.mutable_generation()->set_top_k(40);
      req.mutable_generation()->set_seed(1000 + question);
    }
    return req;
  };

  // The references: one Ask at a time on the encoded id.
  std::map<std::pair<int, bool>, std::vector<int64_t>> expected;
  for (int q = 0; q < 4; ++q) {
    for (bool sampled : {false, true}) {
      AskResult r = ask(request(q, sampled, true));
      ASSERT_TRUE(r.status.ok()) << r.status.error_message();
      const std::vector<int64_t> tokens(r.done.tokens().begin(), r.done.tokens().end());
      ASSERT_FALSE(tokens.empty());
      expected[std::make_pair(q, sampled)] = tokens;
    }
  }
  // The greedy answer to kQuestion is also the one `vamba ask` gives (first kTokens tokens).
  const Reference& cli = reference();
  ASSERT_GE(cli.tokens.size(), static_cast<size_t>(kTokens));
  EXPECT_EQ(expected[std::make_pair(0, false)],
            std::vector<int64_t>(cli.tokens.begin(), cli.tokens.begin() + kTokens));

  constexpr int kClients = 16;
  std::vector<AskResult> results(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      // Each client has its own channel, as separate processes would.
      auto channel = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
      auto stub = v1::VideoQa::NewStub(channel);
      const auto req = request(i % 4, (i / 4) % 2 == 1, i % 3 != 0);
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", std::string("Bearer ") + kToken);
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(180));
      auto reader = stub->Ask(&ctx, req);
      v1::AskResponse msg;
      while (reader->Read(&msg)) {
        if (msg.has_done()) {
          results[i].has_done = true;
          results[i].done = msg.done();
        } else {
          results[i].deltas.push_back(msg.delta());
        }
      }
      results[i].status = reader->Finish();
    });
  }
  for (auto& t : clients) t.join();
  for (int i = 0; i < kClients; ++i) {
    const AskResult& r = results[i];
    ASSERT_TRUE(r.status.ok()) << "client " << i << ": " << r.status.error_message();
    ASSERT_TRUE(r.has_done) << "client " << i;
    const std::vector<int64_t> tokens(r.done.tokens().begin(), r.done.tokens().end());
    EXPECT_EQ(tokens, expected[std::make_pair(i % 4, (i / 4) % 2 == 1)]) << "client " << i;
    EXPECT_EQ(r.joined(), r.done.text()) << "client " << i;
    EXPECT_EQ(r.done.video_cached(), i % 3 != 0) << "client " << i;
  }
}

// A client outside this code base: Python's grpcio (Debian's python3-grpcio) checks health, lists
// the services by reflection, and streams an Ask built from the reflected descriptors.
TEST_F(ServiceE2e, PythonGrpcClientUsesHealthAndReflection) {
  int status = 0;
  const std::string cmd = std::string(VAMBA_PYTHON) + " -c 'import grpc' 2>&1";
  const std::string probe = testing::run_command(cmd, &status);
  ASSERT_EQ(status, 0) << VAMBA_PYTHON << " has no grpc module (scripts/setup.sh installs "
                       << "python3-grpcio): " << probe;
  const std::string out = testing::run_command(
      std::string(VAMBA_PYTHON) + " " + VAMBA_PY_CLIENT + " --server " + server_->address() +
          " --token " + kToken + " --video '" + clip_path() + "' --question '" + kQuestion +
          "' --frames 8 --shortest-edge 112 --longest-edge 224 --max-tokens " +
          std::to_string(kMaxTokens),
      &status);
  ASSERT_EQ(status, 0) << out;
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j.at("health").at(""), "SERVING");
  EXPECT_EQ(j.at("health").at("vamba.v1.VideoQa"), "SERVING");
  EXPECT_EQ(j.at("health").at("no.such.Service"), "NOT_FOUND");
  const auto services = j.at("services").get<std::vector<std::string>>();
  for (const char* name :
       {"vamba.v1.VideoQa", "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}) {
    EXPECT_NE(std::find(services.begin(), services.end(), name), services.end()) << name;
  }
  EXPECT_EQ(
      j.at("methods").get<std::vector<std::string>>(),
      (std::vector<std::string>{"Ask", "Caption", "DeleteVideo", "EncodeVideo", "StreamVideo",
                                "UploadVideo"}));
  const auto& a = j.at("ask");
  ASSERT_EQ(a.at("code"), "OK") << a.dump();
  EXPECT_EQ(a.at("tokens").get<std::vector<int64_t>>(), reference().tokens);
  EXPECT_EQ(a.at("text").get<std::string>(), reference().answer);
  std::string joined;
  for (const auto& d : a.at("deltas")) joined += d.get<std::string>();
  EXPECT_EQ(joined, reference().answer);
  EXPECT_EQ(j.at("ask_without_token").at("code"), "UNAUTHENTICATED");
}

// Scene captions on a clip made of two scenes (testsrc, then solid red, 3 s each): one segment per
// scene, cut within one detection interval of the change.
TEST_F(ServiceE2e, SceneCaptionsCutWhereThePictureChanges) {
  const std::string clip = (scratch().root / "two_scenes.mp4").string();
  int status = 0;
  testing::run_command(std::string(VAMBA_FFMPEG_EXE) +
                           " -hide_banner -loglevel error -nostdin -y"
                           " -f lavfi -i testsrc=size=160x120:rate=25:duration=3"
                           " -f lavfi -i color=c=red:size=160x120:rate=25:duration=3"
                           " -filter_complex '[0:v][1:v]concat=n=2:v=1[v]' -map '[v]' -c:v libx264"
                           " -preset ultrafast -pix_fmt yuv420p '" +
                           clip + "' 2>&1",
                       &status);
  ASSERT_EQ(status, 0) << "ffmpeg could not make the clip";

  auto caption = [&](const v1::CaptionRequest& req, std::vector<v1::CaptionSegment>* segs) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", std::string("Bearer ") + kToken);
    auto reader = stub_->Caption(&ctx, req);
    v1::CaptionSegment seg;
    while (reader->Read(&seg)) segs->push_back(seg);
    return reader->Finish();
  };
  v1::CaptionRequest req;
  req.mutable_video()->set_uri(clip);
  req.set_segmentation(v1::SEGMENTATION_SCENE);
  req.mutable_scene()->set_sample_fps(4);
  req.mutable_sampling()->set_frames(2);
  req.mutable_sampling()->set_shortest_edge(112);
  req.mutable_sampling()->set_longest_edge(224);
  req.mutable_generation()->set_max_tokens(3);
  std::vector<v1::CaptionSegment> segs;
  grpc::Status s = caption(req, &segs);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_DOUBLE_EQ(segs[0].start_s(), 0);
  EXPECT_NEAR(segs[0].end_s(), 3.0, 0.25) << "one sample interval at 4 fps";
  EXPECT_DOUBLE_EQ(segs[1].start_s(), segs[0].end_s());
  EXPECT_NEAR(segs[1].end_s(), 6.0, 0.1);
  EXPECT_GT(segs[1].scene_score(), 0.3);
  EXPECT_EQ(segs[0].scene_score(), 0);
  for (const auto& seg : segs) {
    EXPECT_FALSE(seg.text().empty());
    EXPECT_GT(seg.frames_used(), 0);
  }

  // max_segment_s splits each 3 s scene in two.
  req.mutable_scene()->set_max_segment_s(1.6);
  segs.clear();
  s = caption(req, &segs);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(segs.size(), 4u);
  for (size_t i = 1; i < segs.size(); ++i) EXPECT_DOUBLE_EQ(segs[i].start_s(), segs[i - 1].end_s());

  // Bad scene options are INVALID_ARGUMENT naming the field.
  req.mutable_scene()->set_threshold(1.5);
  segs.clear();
  s = caption(req, &segs);
  EXPECT_EQ(s.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("scene.threshold"), std::string::npos) << s.error_message();
}

// A second server: SIGTERM while an answer streams; the answer completes (drained) and the process
// exits 0.
TEST(ServiceShutdown, SigtermDrainsInFlightAsk) {
  testing::ServerProcess server;
  ASSERT_TRUE(server.start(
      VAMBA_BIN, {"--model", model_dir(), "--device", "cpu", "--host", "127.0.0.1", "--port", "0",
                  "--shutdown-grace", "60", "--allow-path", scratch().root.string()}));
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  auto stub = v1::VideoQa::NewStub(channel);
  v1::AskRequest req;
  req.mutable_video()->set_uri(clip_path());
  req.mutable_sampling()->set_frames(8);
  req.mutable_sampling()->set_shortest_edge(112);
  req.mutable_sampling()->set_longest_edge(224);
  req.set_question(kQuestion);
  req.mutable_generation()->set_max_tokens(200);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  auto reader = stub->Ask(&ctx, req);
  v1::AskResponse msg;
  ASSERT_TRUE(reader->Read(&msg));  // the answer has started
  std::thread stopper([&] { EXPECT_EQ(server.stop(), 0); });
  bool done = false;
  int64_t tokens = 0;
  while (reader->Read(&msg)) {
    if (msg.has_done()) {
      done = true;
      tokens = msg.done().completion_tokens();
    }
  }
  grpc::Status s = reader->Finish();
  stopper.join();
  EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  EXPECT_TRUE(done);
  EXPECT_GT(tokens, 0);
}

}  // namespace
}  // namespace vamba
