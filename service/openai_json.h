// The OpenAI Chat Completions wire format for questions about a video, without a server: the
// request JSON becomes a v1::AskRequest (the gRPC API's request, so both APIs share every check and
// limit), and an answer (v1::AskSummary, deltas) becomes OpenAI response JSON or Server-Sent Event
// chunks. Errors take OpenAI's shape, {"error": {"message", "type", "param", "code"}}, with the
// HTTP status of the vamba::Status code they come from (api_error is the one map).
//
// The video is one content part of the user message, as vLLM, SGLang and llama.cpp take it:
//   {"type": "video_url", "video_url": {"url": "https://..." | "file:///..." |
//   "data:video/mp4;base64,..."}}
// or a video kept on the server (gRPC UploadVideo / EncodeVideo) named by the extension field
// "vamba": {"video_id": ID}. "vamba" also carries the sampling: frames, fps, max_frames, start, end
// (seconds), shortest_edge, longest_edge.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/core/status.h"
#include "vamba/v1/vamba.pb.h"

namespace vamba::service {

// What a POST /v1/chat/completions asks for.
struct ChatRequest {
  // video (uri, data or video_id; see remote_url), sampling, question and generation options.
  v1::AskRequest ask;
  // An http(s) video_url: the HTTP layer fetches it (size limit, timeouts) into ask.video.data.
  std::string remote_url;
  std::string model;  // as sent; "" when absent
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
};

// Parses the request body. INVALID_ARGUMENT with a message that names the field; *error_param
// gets the field's path (e.g. "messages[1].content[0].video_url.url"), "" when there is none.
StatusOr<ChatRequest> parse_chat_request(const std::string& body, std::string* error_param);

// A data: URI's bytes ("data:[<media type>][;params];base64,<data>"). INVALID_ARGUMENT when it is
// not base64 or is malformed.
StatusOr<std::string> decode_data_uri(const std::string& uri);

// An error as the API sends it.
struct ApiError {
  int http_status = 500;
  std::string type;  // e.g. "invalid_request_error"
  std::string code;  // e.g. "invalid_argument", "model_not_found"
  std::string message;
  std::string param;                              // the request field at fault; "" for null
  StatusCode status_code = StatusCode::kUnknown;  // for metrics and logs
};

// The one map from vamba::Status to HTTP status, type and code (see README, "OpenAI-compatible
// HTTP API"): INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE 400; UNAUTHENTICATED 401;
// PERMISSION_DENIED 403; NOT_FOUND 404; ALREADY_EXISTS, ABORTED 409; RESOURCE_EXHAUSTED 429;
// CANCELLED 499; UNIMPLEMENTED 501; UNAVAILABLE 503; DEADLINE_EXCEEDED 504; others 500.
ApiError api_error(const Status& status, std::string param = "");
// An error from checking a request (make_ask_job): the gRPC field names in the message
// ("generation.max_tokens", "sampling.frames", "video.uri", ...) become this API's names
// ("max_tokens", "vamba.frames", "video_url.url", ...), and the first one named is the param.
ApiError request_error(const Status& status);
// 413: the request (or the video it names) is larger than the server takes.
ApiError payload_too_large(std::string message, std::string param = "");
// The error for an HTTP status that cpp-httplib set by itself (unknown path, body too large, ...).
ApiError http_status_error(int http_status);
std::string error_body(const ApiError& error);

// "stop" (end of turn or a stop string) or "length" (max_tokens), from AskSummary.finish_reason.
std::string openai_finish_reason(const std::string& finish_reason);

// Responses are nlohmann::ordered_json, so their fields keep OpenAI's order (id, object, created,
// model, choices, usage).

// What every response of one completion repeats.
struct CompletionMeta {
  std::string id;  // "chatcmpl-..."
  int64_t created = 0;
  std::string model;
};

// usage: prompt_tokens counts the text prompt and the video tokens the model read;
// prompt_tokens_details.video_tokens the latter, .cached_tokens the video tokens that came
// already encoded from the cache (vamba.video_id of an EncodeVideo result).
nlohmann::ordered_json usage_json(const v1::AskSummary& summary);
// The extension field "vamba": frames_used, video_tokens, text_prompt_tokens, video_cached,
// timings (seconds per stage).
nlohmann::ordered_json vamba_json(const v1::AskSummary& summary);
// The whole answer: object "chat.completion".
nlohmann::ordered_json completion_json(const CompletionMeta& meta, const v1::AskSummary& summary);

// Server-Sent Events of a streamed answer, each "data: <json>\n\n" (object
// "chat.completion.chunk"): the first announces the role, then content deltas, then the
// finish_reason; with include_usage every chunk has "usage": null and one more chunk before
// [DONE] has the usage and no choices.
std::string sse_event(const nlohmann::ordered_json& data);
std::string role_chunk(const CompletionMeta& meta, bool include_usage);
std::string content_chunk(const CompletionMeta& meta, const std::string& text, bool include_usage);
std::string finish_chunk(const CompletionMeta& meta, const v1::AskSummary& summary,
                         bool include_usage);
std::string usage_chunk(const CompletionMeta& meta, const v1::AskSummary& summary);
std::string error_event(const ApiError& error);
inline constexpr const char* kSseDone = "data: [DONE]\n\n";

// GET /v1/models and /v1/models/{id}.
nlohmann::ordered_json model_json(const std::string& id, int64_t created);
nlohmann::ordered_json models_json(const std::string& id, int64_t created);

// JSON text; invalid UTF-8 (never expected in answers) is replaced, not thrown on.
std::string dump_json(const nlohmann::ordered_json& j);

}  // namespace vamba::service
