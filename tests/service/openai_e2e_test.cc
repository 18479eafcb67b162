// The OpenAI-compatible HTTP API end to end: a real `vamba serve --http-port 0` process (tiny
// checkpoint, CPU) driven by a client written with Python's standard library
// (openai_http_client.py, as any OpenAI-style client talks to it) next to gRPC clients of the same
// server. Answers are compared with `vamba ask` on the same input (greedy, same frames and size).
// Frames and sizes are small (8 frames, 112/224 px) and answers short, so each test takes seconds.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/service/server_process.h"
#include "tests/testing/golden.h"
#include "vamba/v1/vamba.grpc.pb.h"

namespace vamba {
namespace {

namespace fs = std::filesystem;
namespace v1 = vamba::v1;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using testing::golden_path;

const char* kToken = "http-test-token";
const char* kQuestion = "What happens in the video?";
const char* kModelId = "vamba-tiny";  // the checkpoint folder's name
constexpr int kMaxTokens = 12;
constexpr int kMaxMessageMb = 8;

std::string model_dir() { return golden_path("vamba-tiny"); }

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string base64(const std::string& bytes) {
  static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v =
        (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += {abc[v >> 18], abc[(v >> 12) & 63], abc[(v >> 6) & 63], abc[v & 63]};
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = uint8_t(bytes[i]) << 16;
    out += {abc[v >> 18], abc[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += {abc[v >> 18], abc[(v >> 12) & 63], abc[(v >> 6) & 63], '='};
  }
  return out;
}

// base/root/magic.mp4 (inside the allowed root), base/outside/magic.mp4, request bodies.
struct Scratch {
  fs::path base, root, outside;
  Scratch() {
    std::string pattern = (fs::temp_directory_path() / "vamba_openai_e2e_XXXXXX").string();
    if (!mkdtemp(pattern.data())) return;
    base = fs::canonical(pattern);
    root = base / "root";
    outside = base / "outside";
    fs::create_directories(root);
    fs::create_directories(outside);
    std::error_code ec;
    fs::copy_file(golden_path("vamba-tiny/magic.mp4"), root / "magic.mp4", ec);
    fs::copy_file(golden_path("vamba-tiny/magic.mp4"), outside / "magic.mp4", ec);
  }
  ~Scratch() {
    std::error_code ec;
    if (!base.empty()) fs::remove_all(base, ec);
  }
};
const Scratch& scratch() {
  static Scratch s;
  return s;
}
std::string clip_path() { return (scratch().root / "magic.mp4").string(); }
std::string clip_url() { return "file://" + clip_path(); }

// What openai_http_client.py saw.
struct HttpResult {
  int status = 0;
  std::string content_type;
  json body;    // non-streamed responses
  json events;  // streamed: each data payload ("[DONE]" as a string)
  bool done = false;
  std::string raw;  // the client's output, for messages

  std::string content() const {  // the concatenated content deltas of a stream
    std::string s;
    for (const json& e : events) {
      if (!e.is_object() || !e.contains("choices")) continue;
      for (const json& c : e["choices"]) {
        if (c["delta"].contains("content")) s += c["delta"]["content"].get<std::string>();
      }
    }
    return s;
  }
  std::string error_message() const {
    return body.contains("error") ? body["error"].value("message", "") : raw;
  }
};

// One request through the Python client to the HTTP API on `port`. `body` null: a GET.
HttpResult http_call(int port, const json& body, const std::string& path = "/v1/chat/completions",
                     const std::string& token = "", const std::string& extra = "") {
  static std::atomic<int> counter{0};
  std::string args = " --url http://127.0.0.1:" + std::to_string(port) + " --path " + path;
  if (!body.is_null()) {
    const std::string file =
        (scratch().base / ("body" + std::to_string(counter.fetch_add(1)) + ".json")).string();
    std::ofstream(file) << body.dump();
    args += " --body-file '" + file + "'";
  } else {
    args += " --method GET";
  }
  if (!token.empty()) args += " --token " + token;
  int status = 0;
  HttpResult r;
  r.raw = testing::run_command(std::string(VAMBA_PYTHON) + " " + VAMBA_OPENAI_CLIENT + args + extra,
                               &status);
  EXPECT_EQ(status, 0) << r.raw;
  if (status != 0) return r;
  const json out = json::parse(r.raw);
  r.status = out["status"];
  r.content_type = out["content_type"];
  r.events = out["events"];
  r.done = out["done"];
  if (out.contains("json")) r.body = out["json"];
  return r;
}

// A question about `url` with the reference's settings; `extra` is merged into the body.
json chat_body(const std::string& url, const json& extra = json::object()) {
  json body = {{"model", kModelId},
               {"messages",
                json::array({{{"role", "user"},
                              {"content",
                               json::array({{{"type", "video_url"}, {"video_url", {{"url", url}}}},
                                            {{"type", "text"}, {"text", kQuestion}}})}}})},
               {"max_tokens", kMaxTokens},
               {"temperature", 0},
               {"vamba", {{"frames", 8}, {"shortest_edge", 112}, {"longest_edge", 224}}}};
  body.update(extra, /*merge_objects=*/true);
  return body;
}

// The value of one series in the Prometheus page of the HTTP port; 0 when not counted yet.
double metric_at(int port, const std::string& series) {
  httplib::Client http("127.0.0.1", port);
  auto res = http.Get("/metrics");
  if (!res || res->status != 200) return -1;
  const std::string& page = res->body;
  for (size_t at = page.find(series + " "); at != std::string::npos;
       at = page.find(series + " ", at + 1)) {
    if (at == 0 || page[at - 1] == '\n') return std::atof(page.c_str() + at + series.size() + 1);
  }
  return 0;
}

// The reference: `vamba ask --json` with the same frames, size and answer length.
struct Reference {
  std::string answer;
  std::vector<int64_t> tokens;
};

class OpenAiE2e : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new testing::ServerProcess();
    const std::string token_file = (scratch().base / "token.txt").string();
    std::ofstream(token_file) << kToken << "\n";
    const bool ok = server_->start(VAMBA_BIN, {"--model",
                                               model_dir(),
                                               "--device",
                                               "cpu",
                                               "--host",
                                               "127.0.0.1",
                                               "--port",
                                               "0",
                                               "--http-port",
                                               "0",
                                               "--auth-token-file",
                                               token_file,
                                               "--allow-path",
                                               scratch().root.string(),
                                               "--default-frames",
                                               "8",
                                               "--max-tokens",
                                               "100000",
                                               "--token-budget",
                                               "50000",
                                               "--cache-mb",
                                               "256",
                                               "--max-message-mb",
                                               std::to_string(kMaxMessageMb)});
    if (!ok) {
      delete server_;
      server_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    if (server_) {
      EXPECT_EQ(server_->stop(), 0) << "vamba serve did not exit cleanly on SIGTERM";
      delete server_;
      server_ = nullptr;
    }
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr) << "vamba serve did not start";
    ASSERT_GT(server_->http_port(), 0) << "no 'http on' line";
  }

  static HttpResult call(const json& body, const std::string& path = "/v1/chat/completions",
                         const std::string& token = kToken, const std::string& extra = "") {
    return http_call(server_->http_port(), body, path, token, extra);
  }
  static HttpResult get(const std::string& path, const std::string& token = kToken) {
    return http_call(server_->http_port(), nullptr, path, token);
  }
  static json chat(const std::string& url, const json& extra = json::object()) {
    return chat_body(url, extra);
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
        const json j = json::parse(out.substr(start));
        r->answer = j.at("answer").get<std::string>();
        r->tokens = j.at("tokens").get<std::vector<int64_t>>();
      }
      return r;
    }();
    return *ref;
  }

  // A non-streamed answer equal to `vamba ask`'s.
  static void expect_reference_completion(const HttpResult& r) {
    ASSERT_EQ(r.status, 200) << r.raw;
    const Reference& ref = reference();
    ASSERT_FALSE(ref.tokens.empty()) << "vamba ask gave no reference";
    const json& b = r.body;
    EXPECT_EQ(b["object"], "chat.completion");
    EXPECT_EQ(b["model"], kModelId);
    EXPECT_EQ(b["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
    EXPECT_EQ(b["choices"][0]["message"]["role"], "assistant");
    EXPECT_EQ(b["choices"][0]["message"]["content"], ref.answer);
    EXPECT_EQ(b["vamba"]["token_ids"].get<std::vector<int64_t>>(), ref.tokens);
    EXPECT_EQ(b["choices"][0]["finish_reason"], "length");
    EXPECT_EQ(b["usage"]["completion_tokens"], static_cast<int64_t>(ref.tokens.size()));
    const int64_t video_tokens = b["usage"]["prompt_tokens_details"]["video_tokens"];
    EXPECT_GT(video_tokens, 0);
    EXPECT_EQ(b["usage"]["prompt_tokens"],
              b["vamba"]["text_prompt_tokens"].get<int64_t>() + video_tokens);
    EXPECT_EQ(b["usage"]["total_tokens"], b["usage"]["prompt_tokens"].get<int64_t>() +
                                              b["usage"]["completion_tokens"].get<int64_t>());
    EXPECT_EQ(b["vamba"]["frames_used"], 8);
  }

  // An error in OpenAI's shape with this status (and param, when given).
  static void expect_error(const HttpResult& r, int status, const std::string& param = "") {
    EXPECT_EQ(r.status, status) << r.raw;
    ASSERT_TRUE(r.body.contains("error")) << r.raw;
    const json& e = r.body["error"];
    EXPECT_FALSE(e.value("message", "").empty()) << r.raw;
    EXPECT_TRUE(e["type"].is_string()) << r.raw;
    EXPECT_TRUE(e.contains("param") && e.contains("code")) << r.raw;
    if (!param.empty()) {
      EXPECT_EQ(e["param"], param) << r.raw;
    }
  }

  static double metric(const std::string& series) {
    return metric_at(server_->http_port(), series);
  }

  static testing::ServerProcess* server_;
};

testing::ServerProcess* OpenAiE2e::server_ = nullptr;

TEST_F(OpenAiE2e, HealthModelsMetricsAndUnknownPaths) {
  HttpResult health = get("/health", "");
  EXPECT_EQ(health.status, 200) << health.raw;
  EXPECT_EQ(health.body["status"], "serving");

  HttpResult models = get("/v1/models");
  ASSERT_EQ(models.status, 200) << models.raw;
  EXPECT_EQ(models.body["object"], "list");
  ASSERT_EQ(models.body["data"].size(), 1u);
  EXPECT_EQ(models.body["data"][0]["id"], kModelId);
  EXPECT_EQ(get(std::string("/v1/models/") + kModelId).body["id"], kModelId);
  expect_error(get("/v1/models/gpt-4o"), 404);
  expect_error(get("/v1/models", ""), 401);  // /v1 needs the token
  expect_error(get("/v1/nothing"), 404);

  httplib::Client http("127.0.0.1", server_->http_port());
  auto page = http.Get("/metrics");  // no token needed, like --metrics-port
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("vamba_queue_depth"), std::string::npos);
}

TEST_F(OpenAiE2e, UnstreamedAnswerEqualsVambaAsk) {
  const double ok_before = metric(R"(vamba_requests_total{method="ChatCompletions",code="OK"})");
  HttpResult r = call(chat(clip_url()));
  expect_reference_completion(r);
  EXPECT_EQ(r.content_type.rfind("application/json", 0), 0u);
  EXPECT_FALSE(r.body["vamba"]["video_cached"].get<bool>());
  EXPECT_GT(r.body["vamba"]["timings"]["decode_s"].get<double>(), 0);
  EXPECT_EQ(metric(R"(vamba_requests_total{method="ChatCompletions",code="OK"})"), ok_before + 1);
}

TEST_F(OpenAiE2e, StreamedAnswerEqualsVambaAsk) {
  for (bool include_usage : {false, true}) {
    json extra = {{"stream", true}};
    if (include_usage) extra["stream_options"] = {{"include_usage", true}};
    HttpResult r = call(chat(clip_url(), extra));
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(r.content_type, "text/event-stream");
    ASSERT_TRUE(r.done) << "the stream must end with data: [DONE]";
    ASSERT_GE(r.events.size(), 4u) << r.raw;
    EXPECT_EQ(r.events.back(), "[DONE]");
    const json& first = r.events[0];
    EXPECT_EQ(first["object"], "chat.completion.chunk");
    EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
    EXPECT_EQ(r.content(), reference().answer);
    int content_events = 0;
    json finish, usage;
    for (const json& e : r.events) {
      if (!e.is_object()) continue;
      EXPECT_EQ(e["id"], first["id"]) << "every chunk has the completion's id";
      EXPECT_EQ(e.contains("usage"), include_usage) << e.dump();
      if (e["choices"].empty()) {
        usage = e["usage"];
        continue;
      }
      if (include_usage) {
        EXPECT_TRUE(e["usage"].is_null()) << e.dump();
      }
      const json& c = e["choices"][0];
      if (c["delta"].contains("content") && !c["delta"]["content"].get<std::string>().empty()) {
        ++content_events;
      }
      if (!c["finish_reason"].is_null()) finish = e;
    }
    EXPECT_GT(content_events, 1) << "the answer must arrive in several pieces";
    ASSERT_FALSE(finish.is_null()) << r.raw;
    EXPECT_EQ(finish["choices"][0]["finish_reason"], "length");
    EXPECT_EQ(finish["vamba"]["token_ids"].get<std::vector<int64_t>>(), reference().tokens);
    if (include_usage) {
      ASSERT_FALSE(usage.is_null()) << "include_usage: a usage chunk before [DONE]";
      EXPECT_EQ(usage["completion_tokens"], static_cast<int64_t>(reference().tokens.size()));
      EXPECT_GT(usage["prompt_tokens_details"]["video_tokens"].get<int64_t>(), 0);
    } else {
      EXPECT_TRUE(usage.is_null());
    }
  }
}

TEST_F(OpenAiE2e, DataUriAndRemoteUrlGiveTheSameAnswer) {
  const std::string clip = read_bytes(clip_path());
  expect_reference_completion(call(chat("data:video/mp4;base64," + base64(clip))));

  // A remote video on a local HTTP server, and one larger than the server fetches.
  httplib::Server files;
  files.Get("/magic.mp4", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(clip, "video/mp4");
  });
  files.Get("/huge.mp4", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string((kMaxMessageMb + 1) << 20, 'v'), "video/mp4");
  });
  const int port = files.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread thread([&] { files.listen_after_bind(); });
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  expect_reference_completion(call(chat(base + "/magic.mp4")));
  expect_error(call(chat(base + "/huge.mp4")), 413, "video_url.url");
  expect_error(call(chat(base + "/missing.mp4")), 400, "video_url.url");
  files.stop();
  thread.join();

  // A request body over --max-message-mb: 413 from the HTTP layer, in the same shape.
  const std::string huge = base64(std::string((kMaxMessageMb << 20) + 1000, 'v'));
  HttpResult too_big = call(chat("data:video/mp4;base64," + huge));
  expect_error(too_big, 413);
  EXPECT_EQ(too_big.body["error"]["code"], "payload_too_large");
  expect_reference_completion(call(chat(clip_url())));
}

TEST_F(OpenAiE2e, ErrorsHaveTheirStatusAndTheServerKeepsServing) {
  const std::string outside = "file://" + (scratch().outside / "magic.mp4").string();
  expect_error(call(chat(outside)), 403, "video_url.url");
  expect_error(call(chat("file://" + (scratch().root / "..").string() + "/outside/magic.mp4")),
               403);
  expect_error(call(chat(clip_url() + ".missing")), 404);

  std::string corrupt = read_bytes(clip_path());
  for (size_t i = 64; i < corrupt.size(); ++i) corrupt[i] = static_cast<char>((i * 131) ^ 0x5a);
  const std::string corrupt_uri = "data:video/mp4;base64," + base64(corrupt);
  expect_error(call(chat(corrupt_uri)), 400);
  // Streamed too: the status is chosen once the answer starts, so a bad video is still a 400.
  expect_error(call(chat(corrupt_uri, {{"stream", true}})), 400);

  HttpResult no_token = call(chat(clip_url()), "/v1/chat/completions", "");
  expect_error(no_token, 401);
  EXPECT_EQ(no_token.body["error"]["type"], "authentication_error");
  expect_error(call(chat(clip_url()), "/v1/chat/completions", "wrong"), 401);

  json by_id = chat(clip_url());
  by_id["messages"][0]["content"].erase(0);  // the text part only
  by_id["vamba"]["video_id"] = "v-not-kept";
  expect_error(call(by_id), 404);

  HttpResult wrong_model = call(chat(clip_url(), {{"model", "gpt-4o"}}));
  expect_error(wrong_model, 404, "model");
  EXPECT_EQ(wrong_model.body["error"]["code"], "model_not_found");

  // --token-budget 50000: an answer of 60000 tokens is never admitted; --max-tokens 100000.
  HttpResult over_budget = call(chat(clip_url(), {{"max_tokens", 60000}}));
  expect_error(over_budget, 429);
  EXPECT_EQ(over_budget.body["error"]["type"], "rate_limit_error");
  HttpResult too_long = call(chat(clip_url(), {{"max_tokens", 100001}}));
  expect_error(too_long, 400, "max_tokens");
  EXPECT_EQ(too_long.error_message().find("generation."), std::string::npos)
      << "messages use this API's field names: " << too_long.error_message();
  expect_error(call(chat(clip_url(), {{"vamba", {{"frames", 4}, {"fps", 2.0}}}})), 400,
               "vamba.frames");
  expect_error(call(chat(clip_url(), {{"temperature", "hot"}})), 400, "temperature");

  expect_reference_completion(call(chat(clip_url())));
}

TEST_F(OpenAiE2e, VideoEncodedOverGrpcIsAskedOverHttp) {
  auto channel = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
  auto stub = v1::VideoQa::NewStub(channel);
  v1::EncodeRequest encode;
  encode.mutable_video()->set_uri(clip_path());
  encode.mutable_sampling()->set_frames(8);
  encode.mutable_sampling()->set_shortest_edge(112);
  encode.mutable_sampling()->set_longest_edge(224);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", std::string("Bearer ") + kToken);
  v1::VideoRef ref;
  grpc::Status s = stub->EncodeVideo(&ctx, encode, &ref);
  ASSERT_TRUE(s.ok()) << s.error_message();

  json by_id = chat(clip_url());
  by_id["messages"][0]["content"].erase(0);
  by_id["vamba"] = {{"video_id", ref.video_id()}};
  HttpResult r = call(by_id);
  expect_reference_completion(r);
  EXPECT_TRUE(r.body["vamba"]["video_cached"].get<bool>());
  EXPECT_EQ(r.body["usage"]["prompt_tokens_details"]["cached_tokens"], ref.video_tokens());
  EXPECT_EQ(r.body["vamba"]["timings"]["decode_s"], 0.0) << "the cached video is not decoded";
}

TEST_F(OpenAiE2e, ClientDisconnectCancelsTheAnswer) {
  const std::string cancelled =
      R"(vamba_requests_total{method="ChatCompletions",code="CANCELLED"})";
  const double before = metric(cancelled);
  // Far longer than the client waits for; the client leaves after 3 deltas.
  HttpResult r = call(chat(clip_url(), {{"stream", true}, {"max_tokens", 4000}}),
                      "/v1/chat/completions", kToken, " --disconnect-after 3");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_FALSE(r.done);
  double after = before;
  for (int i = 0; i < 100 && after < before + 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    after = metric(cancelled);
  }
  EXPECT_EQ(after, before + 1) << "the server did not cancel the abandoned answer";

  // The worker is free at once: the next request does not wait behind 4000 tokens.
  HttpResult next = call(chat(clip_url()));
  expect_reference_completion(next);
  EXPECT_LT(next.body["vamba"]["timings"]["queue_s"].get<double>(), 2.0);

  // Unstreamed, nothing is written until the answer is done: the server must see the closed
  // socket itself.
  HttpResult gave_up = call(chat(clip_url(), {{"max_tokens", 4000}}), "/v1/chat/completions",
                            kToken, " --give-up-after 3");
  EXPECT_EQ(gave_up.status, 0) << gave_up.raw;
  for (int i = 0; i < 100 && after < before + 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    after = metric(cancelled);
  }
  EXPECT_EQ(after, before + 2) << "the server did not cancel the abandoned unstreamed answer";
  HttpResult last = call(chat(clip_url()));
  expect_reference_completion(last);
  EXPECT_LT(last.body["vamba"]["timings"]["queue_s"].get<double>(), 2.0);
}

// 8 HTTP clients (separate processes) and 8 gRPC clients at once, on the same workers: greedy
// and seeded sampling, four questions, by path and by encoded id; every answer equals the one the
// same request gets alone.
TEST_F(OpenAiE2e, ConcurrentHttpAndGrpcClientsGetTheAnswersOfSingleRequests) {
  const std::vector<std::string> questions = {kQuestion, "What colour is the ball?",
                                              "Describe the scene.", "Is anyone there?"};
  constexpr int kTokens = 8;
  auto channel = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
  auto stub = v1::VideoQa::NewStub(channel);
  std::string video_id;
  {
    v1::EncodeRequest encode;
    encode.mutable_video()->set_uri(clip_path());
    encode.mutable_sampling()->set_frames(8);
    encode.mutable_sampling()->set_shortest_edge(112);
    encode.mutable_sampling()->set_longest_edge(224);
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", std::string("Bearer ") + kToken);
    v1::VideoRef ref;
    ASSERT_TRUE(stub->EncodeVideo(&ctx, encode, &ref).ok());
    video_id = ref.video_id();
  }
  auto grpc_ask = [&](v1::VideoQa::Stub* client, int q, bool sampled, bool by_id) {
    v1::AskRequest req;
    if (by_id) {
      req.mutable_video()->set_video_id(video_id);
    } else {
      req.mutable_video()->set_uri(clip_path());
    }
    req.mutable_sampling()->set_frames(8);
    req.mutable_sampling()->set_shortest_edge(112);
    req.mutable_sampling()->set_longest_edge(224);
    req.set_question(questions[q]);
    req.mutable_generation()->set_max_tokens(kTokens);
    if (sampled) {
      req.mutable_generation()->set_temperature(0.9f);
      req.mutable_generation()->set_top_k(40);
      req.mutable_generation()->set_seed(1000 + q);
    }
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", std::string("Bearer ") + kToken);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(180));
    auto reader = client->Ask(&ctx, req);
    v1::AskResponse msg;
    std::vector<int64_t> tokens;
    while (reader->Read(&msg)) {
      if (msg.has_done()) tokens.assign(msg.done().tokens().begin(), msg.done().tokens().end());
    }
    grpc::Status s = reader->Finish();
    EXPECT_TRUE(s.ok()) << s.error_message();
    return tokens;
  };
  auto http_body = [&](int q, bool sampled, bool by_id, bool stream) {
    json body = chat(clip_url(), {{"max_tokens", kTokens}, {"stream", stream}});
    body["messages"][0]["content"][1]["text"] = questions[q];
    if (by_id) {
      body["messages"][0]["content"].erase(0);
      body["vamba"] = {{"video_id", video_id}};
    }
    if (sampled) {
      body["temperature"] = 0.9;
      body["top_k"] = 40;
      body["seed"] = 1000 + q;
    }
    return body;
  };
  auto http_tokens = [](const HttpResult& r) {
    if (r.status != 200) return std::vector<int64_t>();
    if (!r.events.empty()) {
      for (const json& e : r.events) {
        if (e.is_object() && e.contains("vamba"))
          return e["vamba"]["token_ids"].get<std::vector<int64_t>>();
      }
      return std::vector<int64_t>();
    }
    return r.body["vamba"]["token_ids"].get<std::vector<int64_t>>();
  };

  // The references: one request at a time.
  std::map<std::pair<int, bool>, std::vector<int64_t>> expected;
  for (int q = 0; q < 4; ++q) {
    for (bool sampled : {false, true}) {
      expected[{q, sampled}] = grpc_ask(stub.get(), q, sampled, true);
      ASSERT_FALSE(expected[std::make_pair(q, sampled)].empty());
    }
  }
  ASSERT_GE(reference().tokens.size(), static_cast<size_t>(kTokens));
  EXPECT_EQ(expected[std::make_pair(0, false)],
            std::vector<int64_t>(reference().tokens.begin(), reference().tokens.begin() + kTokens));

  constexpr int kClients = 8;
  std::vector<HttpResult> http_results(kClients);
  std::vector<std::vector<int64_t>> grpc_results(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    const int q = i % 4;
    const bool sampled = (i / 4) % 2 == 1, by_id = i % 3 != 0;
    clients.emplace_back([&, i, q, sampled, by_id] {
      http_results[i] = call(http_body(q, sampled, by_id, /*stream=*/i % 2 == 0));
    });
    clients.emplace_back([&, i, q, sampled, by_id] {
      auto own = v1::VideoQa::NewStub(
          grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
      grpc_results[i] = grpc_ask(own.get(), q, sampled, !by_id);
    });
  }
  for (auto& t : clients) t.join();
  for (int i = 0; i < kClients; ++i) {
    const auto& want = expected[std::make_pair(i % 4, (i / 4) % 2 == 1)];
    EXPECT_EQ(http_tokens(http_results[i]), want)
        << "HTTP client " << i << ": " << http_results[i].raw;
    EXPECT_EQ(grpc_results[i], want) << "gRPC client " << i;
  }
}

// A second server: SIGTERM while an HTTP answer streams. /health turns 503 and new requests are
// refused with 503 while the answer completes; then the process exits 0.
TEST(OpenAiShutdown, SigtermDrainsAStreamingAnswer) {
  testing::ServerProcess server;
  ASSERT_TRUE(server.start(
      VAMBA_BIN,
      {"--model", model_dir(), "--device", "cpu", "--host", "127.0.0.1", "--port", "0",
       "--http-port", "0", "--shutdown-grace", "60", "--allow-path", scratch().root.string()}));
  const int port = server.http_port();
  ASSERT_GT(port, 0);
  HttpResult streamed;
  std::thread client([&] {
    streamed = http_call(port, chat_body(clip_url(), {{"stream", true}, {"max_tokens", 100}}));
  });
  // SIGTERM once the answer is being decoded.
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  while (Clock::now() < deadline && metric_at(port, "vamba_decode_batch") < 1) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GE(metric_at(port, "vamba_decode_batch"), 1) << "the answer never started";
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    EXPECT_EQ(server.stop(), 0);
    stopped = true;
  });
  bool saw_draining = false;
  HttpResult refused;
  while (!stopped && !saw_draining) {
    httplib::Client http("127.0.0.1", port);
    auto health = http.Get("/health");
    if (health && health->status == 503) {
      saw_draining = true;
      refused = http_call(port, chat_body(clip_url()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  client.join();
  stopper.join();
  EXPECT_TRUE(saw_draining) << "/health never answered 503 during the drain";
  if (saw_draining) {
    EXPECT_EQ(refused.status, 503) << refused.raw;
    EXPECT_TRUE(refused.body.contains("error")) << refused.raw;
  }
  EXPECT_EQ(streamed.status, 200) << streamed.raw;
  EXPECT_TRUE(streamed.done) << "the answer in flight must complete: " << streamed.raw;
  EXPECT_FALSE(streamed.content().empty());
}

}  // namespace
}  // namespace vamba
