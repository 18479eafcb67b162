// The OpenAI wire format without a server (service/openai_json.h): requests become the gRPC API's
// AskRequest and then the pipeline's options; answers become chat.completion JSON and SSE chunks;
// errors take OpenAI's shape with the HTTP status of their vamba::Status code.
#include "service/openai_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "service/convert.h"

namespace vamba::service {
namespace {

using json = nlohmann::json;

// A request with a video part and a question; `extra` is merged into the top level.
std::string request_body(const std::string& video_url, json extra = json::object(),
                         json system = nullptr) {
  json messages = json::array();
  if (!system.is_null()) messages.push_back({{"role", "system"}, {"content", system}});
  messages.push_back(
      {{"role", "user"},
       {"content", json::array({{{"type", "video_url"}, {"video_url", {{"url", video_url}}}},
                                {{"type", "text"}, {"text", "What happens?"}}})}});
  json body = {{"model", "vamba-tiny"}, {"messages", messages}};
  body.update(extra);
  return body.dump();
}

StatusOr<ChatRequest> parse(const std::string& body, std::string* param = nullptr) {
  std::string unused;
  return parse_chat_request(body, param ? param : &unused);
}

// The param and message of a refused request.
struct Refusal {
  std::string param, message;
};
Refusal refusal(const std::string& body) {
  std::string param;
  auto r = parse(body, &param);
  EXPECT_FALSE(r.ok()) << body;
  if (r.ok()) return {};
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().to_string();
  return {param, r.status().message()};
}

TEST(OpenAiRequest, EveryFieldReachesTheAskRequestAndThePipelineOptions) {
  const std::string body = request_body("file:///videos/my%20clip.mp4",
                                        {{"stream", true},
                                         {"stream_options", {{"include_usage", true}}},
                                         {"max_tokens", 33},
                                         {"temperature", 0.7},
                                         {"top_p", 0.9},
                                         {"top_k", 20},
                                         {"seed", 1234},
                                         {"stop", json::array({"END", "\n\n"})},
                                         {"n", 1},
                                         {"user", "ignored"},
                                         {"vamba",
                                          {{"frames", 8},
                                           {"start", 1.5},
                                           {"end", 4.0},
                                           {"shortest_edge", 112},
                                           {"longest_edge", 224}}}},
                                        "You are terse.");
  auto r = parse(body);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->model, "vamba-tiny");
  EXPECT_TRUE(r->stream);
  EXPECT_TRUE(r->include_usage);
  EXPECT_TRUE(r->remote_url.empty());
  EXPECT_EQ(r->ask.video().uri(), "/videos/my clip.mp4") << "file URLs are percent-decoded";
  EXPECT_EQ(r->ask.question(), "What happens?");

  RequestLimits limits;
  auto encode = to_encode_options(r->ask.sampling(), limits);
  ASSERT_TRUE(encode.ok()) << encode.status().to_string();
  EXPECT_EQ(encode->sampling.num_frames, 8);
  EXPECT_DOUBLE_EQ(encode->sampling.start, 1.5);
  EXPECT_DOUBLE_EQ(encode->sampling.end, 4.0);
  EXPECT_EQ(encode->pre_resize.shortest, 112);
  EXPECT_EQ(encode->pre_resize.longest, 224);
  auto ask = to_ask_options(r->ask.generation(), limits);
  ASSERT_TRUE(ask.ok()) << ask.status().to_string();
  EXPECT_EQ(ask->max_new_tokens, 33);
  EXPECT_FLOAT_EQ(ask->temperature, 0.7f);
  EXPECT_FLOAT_EQ(ask->top_p, 0.9f);
  EXPECT_EQ(ask->top_k, 20);
  EXPECT_EQ(ask->seed, 1234u);
  EXPECT_EQ(ask->stop_strings, (std::vector<std::string>{"END", "\n\n"}));
  EXPECT_EQ(ask->system_prompt, "You are terse.");
}

TEST(OpenAiRequest, DefaultsAreTheServersAndGreedy) {
  auto r = parse(request_body("file:///v.mp4"));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_FALSE(r->stream);
  RequestLimits limits;
  auto ask = to_ask_options(r->ask.generation(), limits);
  ASSERT_TRUE(ask.ok());
  EXPECT_EQ(ask->max_new_tokens, limits.default_max_tokens);
  EXPECT_EQ(ask->temperature, 0.0f) << "no temperature: greedy";
  EXPECT_EQ(ask->system_prompt, pipelines::AskOptions().system_prompt);
  auto encode = to_encode_options(r->ask.sampling(), limits);
  ASSERT_TRUE(encode.ok());
  EXPECT_EQ(encode->sampling.num_frames, limits.default_frames);
}

TEST(OpenAiRequest, VideoSources) {
  // data: URI -> the bytes inline.
  auto data = parse(request_body("data:video/mp4;base64,AAECAwQ="));
  ASSERT_TRUE(data.ok()) << data.status().to_string();
  EXPECT_EQ(data->ask.video().data(), std::string("\x00\x01\x02\x03\x04", 5));
  // http(s): fetched by the HTTP layer; the uri is kept for the source policy.
  auto remote = parse(request_body("https://example.com/a.mp4?sig=1"));
  ASSERT_TRUE(remote.ok());
  EXPECT_EQ(remote->remote_url, "https://example.com/a.mp4?sig=1");
  EXPECT_EQ(remote->ask.video().uri(), "https://example.com/a.mp4?sig=1");
  // Other schemes are the source policy's to allow or refuse, like gRPC's video.uri.
  auto rtsp = parse(request_body("rtsp://camera/stream"));
  ASSERT_TRUE(rtsp.ok());
  EXPECT_TRUE(rtsp->remote_url.empty());
  EXPECT_EQ(rtsp->ask.video().uri(), "rtsp://camera/stream");
  // file://localhost/path is the same path.
  auto localhost = parse(request_body("file://localhost/v/a.mp4"));
  ASSERT_TRUE(localhost.ok());
  EXPECT_EQ(localhost->ask.video().uri(), "/v/a.mp4");
  // A kept video by id, with the question as a plain string.
  json by_id = {{"messages", json::array({{{"role", "user"}, {"content", "Who is there?"}}})},
                {"vamba", {{"video_id", "v-123"}}}};
  auto id = parse(by_id.dump());
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  EXPECT_EQ(id->ask.video().video_id(), "v-123");
  EXPECT_EQ(id->ask.question(), "Who is there?");
}

TEST(OpenAiRequest, TextPartsAndSystemMessagesAreJoined) {
  json body = {
      {"messages",
       json::array({{{"role", "system"}, {"content", "Be brief."}},
                    {{"role", "developer"},
                     {"content", json::array({{{"type", "text"}, {"text", "No lists."}}})}},
                    {{"role", "user"},
                     {"content", json::array({{{"type", "text"}, {"text", "Look."}},
                                              {{"type", "video_url"},
                                               {"video_url", {{"url", "file:///v.mp4"}}}},
                                              {{"type", "text"}, {"text", "What moves?"}}})}}})}};
  auto r = parse(body.dump());
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->ask.question(), "Look.\nWhat moves?");
  EXPECT_EQ(r->ask.generation().system_prompt(), "Be brief.\nNo lists.");
}

TEST(OpenAiRequest, RefusalsNameTheField) {
  struct Case {
    std::string body, param, words;
  };
  const json user_text = {{"role", "user"}, {"content", "hi"}};
  const std::vector<Case> cases = {
      {"{not json", "", "not valid JSON"},
      {"[1]", "", "JSON object"},
      {json({{"model", "m"}}).dump(), "messages", "messages"},
      {json({{"messages", json::array({user_text})}}).dump(), "messages", "video_url"},
      {request_body("file:///v.mp4", {{"messages", json::array({user_text, user_text})}}),
       "messages[1].role", "one user message"},
      {json({{"messages", json::array({{{"role", "assistant"}, {"content", "x"}}, user_text})}})
           .dump(),
       "messages[0].role", "multi-turn"},
      {json({{"messages",
              json::array({{{"role", "user"},
                            {"content", json::array({{{"type", "image_url"},
                                                      {"image_url", {{"url", "x"}}}}})}}})}})
           .dump(),
       "messages[0].content[0]", "images are not supported"},
      {request_body("file:///v.mp4", {{"n", 2}}), "n", "must be 1"},
      {request_body("file:///v.mp4", {{"temperature", 3}}), "temperature", "[0, 2]"},
      {request_body("file:///v.mp4", {{"temperature", "hot"}}), "temperature", "number"},
      {request_body("file:///v.mp4", {{"top_p", 0}}), "top_p", "(0, 1]"},
      {request_body("file:///v.mp4", {{"max_tokens", 0}}), "max_tokens", "integer in [1,"},
      {request_body("file:///v.mp4", {{"max_tokens", 2.5}}), "max_tokens", "integer"},
      {request_body("file:///v.mp4", {{"max_tokens", 10}, {"max_completion_tokens", 20}}),
       "max_completion_tokens", "differ"},
      {request_body("file:///v.mp4", {{"stop", 5}}), "stop", "string"},
      {request_body("file:///v.mp4", {{"logprobs", true}}), "logprobs", "not supported"},
      {request_body("file:///v.mp4", {{"stream", "yes"}}), "stream", "true or false"},
      {request_body("file:///v.mp4", {{"vamba", {{"frame", 8}}}}), "vamba.frame", "not a field"},
      {request_body("file:///v.mp4", {{"vamba", {{"video_id", "v-1"}}}}), "vamba.video_id",
       "give one"},
      {request_body("file:///v.mp4", {{"vamba", {{"frames", -1}}}}), "vamba.frames", "integer"},
      {request_body("data:video/mp4,notbase64"), "messages[0].content[0].video_url.url", "base64"},
      {request_body("data:video/mp4;base64,@@@@"), "messages[0].content[0].video_url.url",
       "not base64"},
      {request_body("/plain/path.mp4"), "messages[0].content[0].video_url.url", "file://"},
      {request_body("file://relative/path.mp4"), "messages[0].content[0].video_url.url",
       "absolute"},
      {request_body("file:///bad%zzescape.mp4"), "messages[0].content[0].video_url.url", "escape"},
  };
  for (const Case& c : cases) {
    const Refusal r = refusal(c.body);
    EXPECT_EQ(r.param, c.param) << c.body << " -> " << r.message;
    EXPECT_NE(r.message.find(c.words), std::string::npos) << c.body << " -> " << r.message;
  }
}

TEST(OpenAiRequest, Base64DataUris) {
  // RFC 4648's test vectors, with and without padding, and the URL-safe alphabet.
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""},           {"Zg==", "f"},         {"Zm8=", "fo"},         {"Zm9v", "foo"},
      {"Zm9vYg", "foob"}, {"Zm9vYmE=", "fooba"}, {"Zm9vYmFy", "foobar"}, {"-_8=", "\xfb\xff"}};
  for (const auto& [encoded, decoded] : vectors) {
    auto r = decode_data_uri("data:video/mp4;base64," + encoded);
    ASSERT_TRUE(r.ok()) << encoded << ": " << r.status().to_string();
    EXPECT_EQ(*r, decoded) << encoded;
  }
  EXPECT_TRUE(decode_data_uri("DATA:;BASE64,Zm9v").ok()) << "scheme and params are case-blind";
  EXPECT_FALSE(decode_data_uri("data:video/mp4;base64,Zm9vY").ok()) << "truncated";
  EXPECT_FALSE(decode_data_uri("data:video/mp4;base64,Zg==Zg==").ok()) << "data after padding";
  EXPECT_FALSE(decode_data_uri("data:video/mp4;base64").ok()) << "no comma";
  EXPECT_FALSE(decode_data_uri("data:text/plain,hello").ok()) << "not base64";
}

TEST(OpenAiErrors, StatusCodesMapToHttpStatusesInOnePlace) {
  const std::vector<std::pair<StatusCode, int>> map = {
      {StatusCode::kInvalidArgument, 400},  {StatusCode::kFailedPrecondition, 400},
      {StatusCode::kOutOfRange, 400},       {StatusCode::kUnauthenticated, 401},
      {StatusCode::kPermissionDenied, 403}, {StatusCode::kNotFound, 404},
      {StatusCode::kAlreadyExists, 409},    {StatusCode::kResourceExhausted, 429},
      {StatusCode::kCancelled, 499},        {StatusCode::kUnimplemented, 501},
      {StatusCode::kUnavailable, 503},      {StatusCode::kDeadlineExceeded, 504},
      {StatusCode::kInternal, 500},         {StatusCode::kUnknown, 500},
      {StatusCode::kDataLoss, 500}};
  for (const auto& [code, http] : map) {
    const ApiError e = api_error(Status(code, "why"));
    EXPECT_EQ(e.http_status, http) << status_code_name(code);
    EXPECT_EQ(e.message, "why");
    EXPECT_FALSE(e.type.empty());
    EXPECT_EQ(e.status_code, code);
  }
  EXPECT_EQ(api_error(Status(StatusCode::kUnauthenticated, "x")).type, "authentication_error");
  EXPECT_EQ(api_error(Status(StatusCode::kResourceExhausted, "x")).type, "rate_limit_error");
  EXPECT_EQ(payload_too_large("big").http_status, 413);
  EXPECT_EQ(http_status_error(413).http_status, 413);
  EXPECT_EQ(http_status_error(404).http_status, 404);
  EXPECT_EQ(http_status_error(418).http_status, 418);

  // The body: {"error": {"message", "type", "param", "code"}}, param null when there is none.
  const json body = json::parse(error_body(api_error(invalid_argument("bad"), "top_p")));
  EXPECT_EQ(body["error"]["message"], "bad");
  EXPECT_EQ(body["error"]["type"], "invalid_request_error");
  EXPECT_EQ(body["error"]["param"], "top_p");
  EXPECT_EQ(body["error"]["code"], "invalid_argument");
  const json no_param = json::parse(error_body(api_error(not_found("gone"))));
  EXPECT_TRUE(no_param["error"]["param"].is_null());
}

TEST(OpenAiErrors, RequestCheckMessagesUseThisApisFieldNames) {
  // The checks are the gRPC API's (service/convert.h): run one and translate its message.
  v1::GenerationOptions g;
  g.set_max_tokens(9000);
  RequestLimits limits;
  limits.max_tokens = 8192;
  auto ask = to_ask_options(g, limits);
  ASSERT_FALSE(ask.ok());
  ApiError e = request_error(ask.status());
  EXPECT_EQ(e.http_status, 400);
  EXPECT_EQ(e.param, "max_tokens");
  EXPECT_EQ(e.message.find("generation."), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("max_tokens 9000"), std::string::npos) << e.message;

  v1::Sampling s;
  s.set_frames(4);
  s.set_fps(2);
  auto encode = to_encode_options(s, limits);
  ASSERT_FALSE(encode.ok());
  e = request_error(encode.status());
  EXPECT_EQ(e.param, "vamba.frames");
  EXPECT_NE(e.message.find("vamba.frames or vamba.fps"), std::string::npos) << e.message;

  e = request_error(Status(StatusCode::kPermissionDenied, "video.uri '/etc/x' is outside"));
  EXPECT_EQ(e.http_status, 403);
  EXPECT_EQ(e.param, "video_url.url");
  EXPECT_EQ(e.message, "video_url.url '/etc/x' is outside");
  // What the client sent (quoted) is left as it was.
  e = request_error(Status(StatusCode::kPermissionDenied,
                           "video.uri '/v/question sampling.frames.mp4' is outside"));
  EXPECT_EQ(e.message, "video_url.url '/v/question sampling.frames.mp4' is outside");
  auto question = check_question(std::string(limits.max_question_bytes + 1, 'q'), limits);
  ASSERT_FALSE(question.ok());
  e = request_error(question);
  EXPECT_EQ(e.param, "messages");
  EXPECT_EQ(e.message.rfind("the question (the text of the user message) is longer", 0), 0u)
      << e.message;
  EXPECT_EQ(request_error(not_found("no such video file: /v/question 1.mp4")).message,
            "no such video file: /v/question 1.mp4");
}

v1::AskSummary summary(bool cached, const std::string& finish_reason) {
  v1::AskSummary s;
  s.set_text("A ball rolls.");
  s.set_finish_reason(finish_reason);
  s.set_prompt_tokens(20);
  s.set_completion_tokens(3);
  s.add_tokens(11);
  s.add_tokens(12);
  s.add_tokens(13);
  s.set_frames_used(8);
  s.set_video_tokens(500);
  s.set_video_cached(cached);
  s.mutable_timings()->set_time_to_first_token_s(0.25);
  return s;
}

TEST(OpenAiResponse, CompletionWithUsageAndTheVambaExtension) {
  const CompletionMeta meta{"chatcmpl-r1", 1700000000, "vamba-tiny"};
  const json j = completion_json(meta, summary(false, "stop_string"));
  EXPECT_EQ(j["id"], "chatcmpl-r1");
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["created"], 1700000000);
  EXPECT_EQ(j["model"], "vamba-tiny");
  ASSERT_EQ(j["choices"].size(), 1u);
  EXPECT_EQ(j["choices"][0]["index"], 0);
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "A ball rolls.");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop") << "a stop string is OpenAI's stop";
  EXPECT_EQ(j["usage"]["prompt_tokens"], 520) << "text prompt + video tokens";
  EXPECT_EQ(j["usage"]["completion_tokens"], 3);
  EXPECT_EQ(j["usage"]["total_tokens"], 523);
  EXPECT_EQ(j["usage"]["prompt_tokens_details"]["video_tokens"], 500);
  EXPECT_EQ(j["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
  EXPECT_EQ(j["vamba"]["frames_used"], 8);
  EXPECT_EQ(j["vamba"]["text_prompt_tokens"], 20);
  EXPECT_EQ(j["vamba"]["token_ids"], json::array({11, 12, 13}));
  EXPECT_DOUBLE_EQ(j["vamba"]["timings"]["time_to_first_token_s"].get<double>(), 0.25);

  const json cached = completion_json(meta, summary(true, "length"));
  EXPECT_EQ(cached["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(cached["usage"]["prompt_tokens_details"]["cached_tokens"], 500)
      << "an encoded video from the cache: its tokens are cached";
}

// "data: <json>\n\n" -> the JSON.
json event_json(const std::string& event) {
  EXPECT_EQ(event.rfind("data: ", 0), 0u) << event;
  EXPECT_GE(event.size(), 2u);
  EXPECT_EQ(event.substr(event.size() - 2), "\n\n") << event;
  return json::parse(event.substr(6, event.size() - 8));
}

TEST(OpenAiResponse, StreamChunks) {
  const CompletionMeta meta{"chatcmpl-r2", 1700000001, "m"};
  for (bool include_usage : {false, true}) {
    const json role = event_json(role_chunk(meta, include_usage));
    EXPECT_EQ(role["object"], "chat.completion.chunk");
    EXPECT_EQ(role["id"], "chatcmpl-r2");
    EXPECT_EQ(role["choices"][0]["delta"]["role"], "assistant");
    EXPECT_TRUE(role["choices"][0]["finish_reason"].is_null());
    EXPECT_EQ(role.contains("usage"), include_usage);
    if (include_usage) {
      EXPECT_TRUE(role["usage"].is_null());
    }

    const json content = event_json(content_chunk(meta, "Hel", include_usage));
    EXPECT_EQ(content["choices"][0]["delta"]["content"], "Hel");
    EXPECT_FALSE(content["choices"][0]["delta"].contains("role"));

    const json finish = event_json(finish_chunk(meta, summary(false, "length"), include_usage));
    EXPECT_EQ(finish["choices"][0]["finish_reason"], "length");
    EXPECT_TRUE(finish["choices"][0]["delta"].empty());
  }
  const json usage = event_json(usage_chunk(meta, summary(false, "stop")));
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["total_tokens"], 523);
  const json error = event_json(error_event(api_error(invalid_argument("corrupt"))));
  EXPECT_EQ(error["error"]["message"], "corrupt");
  EXPECT_EQ(std::string(kSseDone), "data: [DONE]\n\n");
}

TEST(OpenAiResponse, Models) {
  const json list = models_json("vamba-tiny", 5);
  EXPECT_EQ(list["object"], "list");
  ASSERT_EQ(list["data"].size(), 1u);
  EXPECT_EQ(list["data"][0]["id"], "vamba-tiny");
  EXPECT_EQ(list["data"][0]["object"], "model");
  EXPECT_EQ(list["data"][0]["created"], 5);
  EXPECT_EQ(model_json("x", 1)["id"], "x");
}

}  // namespace
}  // namespace vamba::service
