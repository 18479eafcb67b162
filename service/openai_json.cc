#include "service/openai_json.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <optional>
#include <set>
#include <vector>

namespace vamba::service {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;  // responses: fields in OpenAI's order

// Reads typed fields of one JSON object, naming the field (its path) in every error.
class Fields {
 public:
  Fields(const json& object, std::string path, std::string* error_param)
      : object_(object), path_(std::move(path)), error_param_(error_param) {}

  std::string path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  Status fail(const std::string& key, const std::string& message) const {
    *error_param_ = path(key);
    return invalid_argument(path(key) + " " + message);
  }
  // Null or absent: not there.
  const json* find(const std::string& key) const {
    auto it = object_.find(key);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }

  StatusOr<std::optional<std::string>> string(const std::string& key) const {
    const json* v = find(key);
    if (!v) return std::optional<std::string>();
    if (!v->is_string()) return fail(key, "must be a string");
    return std::optional<std::string>(v->get<std::string>());
  }
  StatusOr<std::optional<bool>> boolean(const std::string& key) const {
    const json* v = find(key);
    if (!v) return std::optional<bool>();
    if (!v->is_boolean()) return fail(key, "must be true or false");
    return std::optional<bool>(v->get<bool>());
  }
  StatusOr<std::optional<double>> number(const std::string& key) const {
    const json* v = find(key);
    if (!v) return std::optional<double>();
    if (!v->is_number()) return fail(key, "must be a number");
    return std::optional<double>(v->get<double>());
  }
  // Integers in [lo, hi]; 16.0 is not an integer here (JSON clients send integers as such).
  StatusOr<std::optional<int64_t>> integer(const std::string& key, int64_t lo, int64_t hi) const {
    const json* v = find(key);
    if (!v) return std::optional<int64_t>();
    const std::string range = "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    if (v->is_number_unsigned()) {
      const uint64_t u = v->get<uint64_t>();
      // (JSON's non-negative integers parse as unsigned.)
      if (u > static_cast<uint64_t>(hi) || static_cast<int64_t>(u) < lo) {
        return fail(key, "must be an integer in " + range);
      }
      return std::optional<int64_t>(static_cast<int64_t>(u));
    }
    if (!v->is_number_integer()) return fail(key, "must be an integer in " + range);
    const int64_t i = v->get<int64_t>();
    if (i < lo || i > hi) return fail(key, "must be an integer in " + range);
    return std::optional<int64_t>(i);
  }

 private:
  const json& object_;
  const std::string path_;
  std::string* error_param_;
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The text of a system message or of text parts: a string, or an array of {"type": "text"}.
StatusOr<std::string> text_content(const json& content, const std::string& path,
                                   std::string* error_param) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) {
    *error_param = path;
    return invalid_argument(path + " must be a string or an array of text parts");
  }
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const std::string part_path = path + "[" + std::to_string(i) + "]";
    const json& part = content[i];
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
        !part["text"].is_string()) {
      *error_param = part_path;
      return invalid_argument(part_path +
                              " must be a text part ({\"type\": \"text\", \"text\": ...})");
    }
    if (!text.empty()) text += "\n";
    text += part["text"].get<std::string>();
  }
  return text;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

StatusOr<std::string> percent_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    const int hi = i + 1 < s.size() ? hex_value(s[i + 1]) : -1;
    const int lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) return invalid_argument("a '%' escape is not two hex digits");
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  if (out.find('\0') != std::string::npos) return invalid_argument("it contains a NUL byte");
  return out;
}

// The video of a video_url part, into request->ask.video (or request->remote_url).
Status set_video_url(const std::string& url, const std::string& param, ChatRequest* request,
                     std::string* error_param) {
  auto fail = [&](const std::string& message) {
    *error_param = param;
    return invalid_argument(param + " " + message);
  };
  if (url.empty()) return fail("is empty");
  if (lower(url.substr(0, 5)) == "data:") {
    auto bytes = decode_data_uri(url);
    if (!bytes.ok()) return fail("is not a valid data URI: " + bytes.status().message());
    if (bytes->empty()) return fail("is a data URI with no data");
    request->ask.mutable_video()->set_data(std::move(*bytes));
    return ok_status();
  }
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos || scheme_end == 0) {
    return fail("must be an http(s)://, file:// or data: URL");
  }
  const std::string scheme = lower(url.substr(0, scheme_end));
  if (scheme == "file") {
    std::string path = url.substr(scheme_end + 3);
    if (path.rfind("localhost/", 0) == 0) path = path.substr(9);
    if (path.empty() || path[0] != '/') {
      return fail("must name an absolute path on the server (file:///path/to/video.mp4)");
    }
    auto decoded = percent_decode(path);
    if (!decoded.ok()) return fail("is not a valid file URL: " + decoded.status().message());
    request->ask.mutable_video()->set_uri(*decoded);
    return ok_status();
  }
  // The source policy decides whether the server may open it (service/source_policy.h).
  request->ask.mutable_video()->set_uri(url);
  if (scheme == "http" || scheme == "https") request->remote_url = url;
  return ok_status();
}

// The user message: the question (its text parts) and the video (its one video_url part).
Status parse_user_content(const json& content, const std::string& path, ChatRequest* request,
                          bool* has_video, std::string* error_param) {
  if (content.is_string()) {
    request->ask.set_question(content.get<std::string>());
    return ok_status();
  }
  if (!content.is_array()) {
    *error_param = path;
    return invalid_argument(path + " must be a string or an array of content parts");
  }
  std::string question;
  for (size_t i = 0; i < content.size(); ++i) {
    const std::string part_path = path + "[" + std::to_string(i) + "]";
    const json& part = content[i];
    if (!part.is_object() || !part.contains("type") || !part["type"].is_string()) {
      *error_param = part_path;
      return invalid_argument(part_path + " must be a content part with a \"type\"");
    }
    const std::string type = part["type"].get<std::string>();
    Fields fields(part, part_path, error_param);
    if (type == "text") {
      VAMBA_ASSIGN_OR_RETURN(std::optional<std::string> text, fields.string("text"));
      if (!text) return fields.fail("text", "is missing");
      if (!question.empty()) question += "\n";
      question += *text;
    } else if (type == "video_url") {
      if (*has_video) {
        *error_param = part_path;
        return invalid_argument(part_path +
                                ": one video per request (this message has a second video_url)");
      }
      const json* video = fields.find("video_url");
      if (!video || !video->is_object()) {
        return fields.fail("video_url", "must be an object {\"url\": \"...\"}");
      }
      Fields video_fields(*video, part_path + ".video_url", error_param);
      VAMBA_ASSIGN_OR_RETURN(std::optional<std::string> url, video_fields.string("url"));
      if (!url) return video_fields.fail("url", "is missing");
      VAMBA_RETURN_IF_ERROR(set_video_url(*url, video_fields.path("url"), request, error_param));
      *has_video = true;
    } else if (type == "image_url") {
      *error_param = part_path;
      return invalid_argument(part_path +
                              ": images are not supported; send a video as a video_url part");
    } else if (type == "input_audio" || type == "audio_url" || type == "file") {
      *error_param = part_path;
      return invalid_argument(part_path + ": content parts of type '" + type +
                              "' are not supported (text and video_url are)");
    } else {
      *error_param = part_path;
      return invalid_argument(part_path + ": unknown content part type '" + type +
                              "' (text and video_url are supported)");
    }
  }
  request->ask.set_question(question);
  return ok_status();
}

Status parse_messages(const json& doc, ChatRequest* request, bool* has_video,
                      std::string* error_param) {
  auto it = doc.find("messages");
  if (it == doc.end() || !it->is_array() || it->empty()) {
    *error_param = "messages";
    return invalid_argument("messages must be a non-empty array");
  }
  std::string system;
  bool has_system = false, has_user = false;
  for (size_t i = 0; i < it->size(); ++i) {
    const std::string path = "messages[" + std::to_string(i) + "]";
    const json& m = (*it)[i];
    if (!m.is_object()) {
      *error_param = path;
      return invalid_argument(path + " must be an object with a role and content");
    }
    Fields fields(m, path, error_param);
    VAMBA_ASSIGN_OR_RETURN(std::optional<std::string> role, fields.string("role"));
    if (!role) return fields.fail("role", "is missing");
    const json* content = fields.find("content");
    if (*role == "system" || *role == "developer") {
      if (!content) return fields.fail("content", "is missing");
      VAMBA_ASSIGN_OR_RETURN(std::string text,
                             text_content(*content, fields.path("content"), error_param));
      if (has_system) system += "\n";
      system += text;
      has_system = true;
    } else if (*role == "user") {
      if (has_user) {
        return fields.fail("role",
                           "'user': one user message per request (one question about one "
                           "video); earlier turns are not supported");
      }
      if (!content) return fields.fail("content", "is missing");
      VAMBA_RETURN_IF_ERROR(
          parse_user_content(*content, fields.path("content"), request, has_video, error_param));
      if (request->ask.question().empty()) {
        return fields.fail("content", "has no text: the question is missing");
      }
      has_user = true;
    } else if (*role == "assistant" || *role == "tool" || *role == "function") {
      return fields.fail("role", "'" + *role +
                                     "': multi-turn conversations are not supported; send a "
                                     "system message and one user message");
    } else {
      return fields.fail("role", "'" + *role + "' is not a role (system, developer or user)");
    }
  }
  if (!has_user) {
    *error_param = "messages";
    return invalid_argument("messages needs a user message (the question and the video)");
  }
  if (has_system) request->ask.mutable_generation()->set_system_prompt(system);
  return ok_status();
}

// "vamba": the sampling of the video, and a kept video's id.
Status parse_vamba(const Fields& top, ChatRequest* request, bool* has_video,
                   std::string* error_param) {
  const json* ext = top.find("vamba");
  if (!ext) return ok_status();
  if (!ext->is_object()) return top.fail("vamba", "must be an object");
  static const std::set<std::string> known = {
      "frames", "fps", "max_frames", "start", "end", "shortest_edge", "longest_edge", "video_id"};
  for (auto it = ext->begin(); it != ext->end(); ++it) {
    if (!known.count(it.key())) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      *error_param = "vamba." + it.key();
      return invalid_argument("vamba." + it.key() + " is not a field of vamba (" + list + ")");
    }
  }
  Fields f(*ext, "vamba", error_param);
  constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
  constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
  v1::Sampling* s = request->ask.mutable_sampling();
  VAMBA_ASSIGN_OR_RETURN(auto frames, f.integer("frames", 0, kInt64Max));
  if (frames) s->set_frames(*frames);
  VAMBA_ASSIGN_OR_RETURN(auto fps, f.number("fps"));
  if (fps) s->set_fps(*fps);
  VAMBA_ASSIGN_OR_RETURN(auto max_frames, f.integer("max_frames", 0, kInt64Max));
  if (max_frames) s->set_max_frames(*max_frames);
  VAMBA_ASSIGN_OR_RETURN(auto start, f.number("start"));
  if (start) s->set_start_s(*start);
  VAMBA_ASSIGN_OR_RETURN(auto end, f.number("end"));
  if (end) s->set_end_s(*end);
  VAMBA_ASSIGN_OR_RETURN(auto shortest, f.integer("shortest_edge", 0, kInt32Max));
  if (shortest) s->set_shortest_edge(static_cast<int32_t>(*shortest));
  VAMBA_ASSIGN_OR_RETURN(auto longest, f.integer("longest_edge", 0, kInt32Max));
  if (longest) s->set_longest_edge(static_cast<int32_t>(*longest));
  VAMBA_ASSIGN_OR_RETURN(auto video_id, f.string("video_id"));
  if (video_id) {
    if (*has_video) {
      return f.fail("video_id", "and a video_url part both name a video; give one of them");
    }
    if (video_id->empty()) return f.fail("video_id", "is empty");
    request->ask.mutable_video()->set_video_id(*video_id);
    *has_video = true;
  }
  return ok_status();
}

Status parse_generation(const Fields& f, ChatRequest* request) {
  constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
  v1::GenerationOptions* g = request->ask.mutable_generation();
  VAMBA_ASSIGN_OR_RETURN(auto max_tokens, f.integer("max_tokens", 1, kInt32Max));
  VAMBA_ASSIGN_OR_RETURN(auto max_completion, f.integer("max_completion_tokens", 1, kInt32Max));
  if (max_tokens && max_completion && *max_tokens != *max_completion) {
    return f.fail("max_completion_tokens", "and max_tokens differ; give one of them");
  }
  if (max_completion) max_tokens = max_completion;
  if (max_tokens) g->set_max_tokens(static_cast<int32_t>(*max_tokens));
  // Absent: greedy, as the gRPC API (OpenAI's own default is 1).
  VAMBA_ASSIGN_OR_RETURN(auto temperature, f.number("temperature"));
  if (temperature) {
    if (!(*temperature >= 0 && *temperature <= 2))
      return f.fail("temperature", "must be in [0, 2]");
    g->set_temperature(static_cast<float>(*temperature));
  }
  VAMBA_ASSIGN_OR_RETURN(auto top_p, f.number("top_p"));
  if (top_p) {
    if (!(*top_p > 0 && *top_p <= 1)) return f.fail("top_p", "must be in (0, 1]");
    g->set_top_p(static_cast<float>(*top_p));
  }
  // top_k is not OpenAI's, but vLLM and llama.cpp take it; -1 (vLLM) and 0 mean off.
  VAMBA_ASSIGN_OR_RETURN(auto top_k, f.integer("top_k", -1, kInt32Max));
  if (top_k && *top_k > 0) g->set_top_k(static_cast<int32_t>(*top_k));
  if (const json* seed = f.find("seed")) {
    if (seed->is_number_unsigned()) {
      g->set_seed(seed->get<uint64_t>());
    } else if (seed->is_number_integer()) {
      g->set_seed(static_cast<uint64_t>(seed->get<int64_t>()));  // negative seeds wrap
    } else {
      return f.fail("seed", "must be an integer");
    }
  }
  if (const json* stop = f.find("stop")) {
    if (stop->is_string()) {
      g->add_stop(stop->get<std::string>());
    } else if (stop->is_array()) {
      for (const json& s : *stop) {
        if (!s.is_string()) return f.fail("stop", "must be a string or an array of strings");
        g->add_stop(s.get<std::string>());
      }
    } else {
      return f.fail("stop", "must be a string or an array of strings");
    }
  }
  return ok_status();
}

// Fields that change what OpenAI would answer and that this server cannot honour: refused rather
// than silently ignored. Others (user, metadata, store, ...) are ignored.
Status refuse_unsupported(const Fields& f) {
  VAMBA_ASSIGN_OR_RETURN(auto n, f.integer("n", 1, std::numeric_limits<int32_t>::max()));
  if (n && *n != 1) return f.fail("n", "must be 1 (one answer per request)");
  VAMBA_ASSIGN_OR_RETURN(auto logprobs, f.boolean("logprobs"));
  if (logprobs && *logprobs) return f.fail("logprobs", "is not supported");
  for (const char* key : {"tools", "functions"}) {
    const json* v = f.find(key);
    if (v && !(v->is_array() && v->empty())) return f.fail(key, "are not supported");
  }
  if (const json* format = f.find("response_format")) {
    if (!format->is_object() || format->value("type", "text") != "text") {
      return f.fail("response_format",
                    "must be {\"type\": \"text\"} (structured output is not "
                    "supported)");
    }
  }
  for (const char* key : {"frequency_penalty", "presence_penalty"}) {
    VAMBA_ASSIGN_OR_RETURN(auto penalty, f.number(key));
    if (penalty && *penalty != 0) return f.fail(key, "is not supported (only 0)");
  }
  return ok_status();
}

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

ojson timings_json(const v1::Timings& t) {
  return {{"queue_s", t.queue_s()},
          {"decode_s", t.decode_s()},
          {"preprocess_s", t.preprocess_s()},
          {"vision_s", t.vision_s()},
          {"video_prefill_s", t.video_prefill_s()},
          {"time_to_first_token_s", t.time_to_first_token_s()},
          {"generate_s", t.generate_s()},
          {"tokens_per_s", t.tokens_per_s()}};
}

ojson chunk(const CompletionMeta& meta, ojson choices, bool include_usage) {
  ojson j = {{"id", meta.id},
             {"object", "chat.completion.chunk"},
             {"created", meta.created},
             {"model", meta.model},
             {"choices", std::move(choices)}};
  if (include_usage) j["usage"] = nullptr;
  return j;
}

ojson one_choice(ojson delta, const ojson& finish_reason) {
  return ojson::array({{{"index", 0},
                        {"delta", std::move(delta)},
                        {"logprobs", nullptr},
                        {"finish_reason", finish_reason}}});
}

// The gRPC API's field names as they appear in messages of make_ask_job's checks, and this API's.
// A name is replaced only outside '...' (where messages quote what the client sent), and
// "question" only where a message begins with it (check_question's), so a path that happens to
// contain such a word is left alone.
struct FieldName {
  const char* grpc;
  const char* param;
  const char* text;
  bool at_start_only = false;
};
constexpr FieldName kFieldNames[] = {
    {"generation.max_tokens", "max_tokens", "max_tokens"},
    {"generation.temperature", "temperature", "temperature"},
    {"generation.top_p", "top_p", "top_p"},
    {"generation.top_k", "top_k", "top_k"},
    {"generation.stop", "stop", "stop"},
    {"generation.system_prompt", "messages", "the system message"},
    {"sampling.frames", "vamba.frames", "vamba.frames"},
    {"sampling.fps", "vamba.fps", "vamba.fps"},
    {"sampling.max_frames", "vamba.max_frames", "vamba.max_frames"},
    {"sampling.start_s", "vamba.start", "vamba.start"},
    {"sampling.end_s", "vamba.end", "vamba.end"},
    {"sampling.shortest_edge / longest_edge", "vamba.shortest_edge",
     "vamba.shortest_edge / vamba.longest_edge"},
    {"video.video_id", "vamba.video_id", "vamba.video_id"},
    {"video.uri", "video_url.url", "video_url.url"},
    {"video.data", "video_url.url", "video_url.url"},
    {"question ", "messages", "the question (the text of the user message) ", true},
};

// Where `name` occurs in `message` outside quotes (npos when nowhere).
size_t find_unquoted(const std::string& message, const std::string& name, size_t from) {
  bool quoted = false;
  for (size_t i = 0; i < message.size(); ++i) {
    if (message[i] == '\'') quoted = !quoted;
    if (!quoted && i >= from && message.compare(i, name.size(), name) == 0) return i;
  }
  return std::string::npos;
}

}  // namespace

StatusOr<std::string> decode_data_uri(const std::string& uri) {
  if (lower(uri.substr(0, 5)) != "data:") return invalid_argument("it does not start with data:");
  const size_t comma = uri.find(',');
  if (comma == std::string::npos) return invalid_argument("it has no ',' before the data");
  const std::string header = lower(uri.substr(5, comma - 5));
  if (header.size() < 7 || header.compare(header.size() - 7, 7, ";base64") != 0) {
    return invalid_argument("only base64 data URIs are supported (data:video/mp4;base64,...)");
  }
  static const std::vector<int> table = [] {
    std::vector<int> t(256, -1);
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kBase64Alphabet[i])] = i;
    t['-'] = 62;  // the URL-safe alphabet too
    t['_'] = 63;
    return t;
  }();
  std::string out;
  out.reserve((uri.size() - comma) / 4 * 3);
  uint32_t bits = 0;
  int nbits = 0;
  size_t padding = 0, symbols = 0;
  for (size_t i = comma + 1; i < uri.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(uri[i]);
    if (c == '=') {
      ++padding;
      continue;
    }
    if (c == '\r' || c == '\n' || c == ' ' || c == '\t') continue;
    if (padding > 0) return invalid_argument("base64 data continues after '=' padding");
    const int v = table[c];
    if (v < 0) {
      return invalid_argument("'" + std::string(1, static_cast<char>(c)) + "' at offset " +
                              std::to_string(i) + " is not base64");
    }
    ++symbols;
    bits = (bits << 6) | static_cast<uint32_t>(v);
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      out += static_cast<char>((bits >> nbits) & 0xff);
    }
  }
  if (padding > 2 || symbols % 4 == 1) return invalid_argument("the base64 data is truncated");
  return out;
}

StatusOr<ChatRequest> parse_chat_request(const std::string& body, std::string* error_param) {
  error_param->clear();
  json doc;
  try {
    doc = json::parse(body);
  } catch (const json::exception& e) {
    return invalid_argument(std::string("the request body is not valid JSON: ") + e.what());
  }
  if (!doc.is_object()) return invalid_argument("the request body must be a JSON object");
  ChatRequest request;
  Fields top(doc, "", error_param);
  VAMBA_ASSIGN_OR_RETURN(auto model, top.string("model"));
  if (model) request.model = *model;
  VAMBA_ASSIGN_OR_RETURN(auto stream, top.boolean("stream"));
  request.stream = stream.value_or(false);
  if (const json* options = top.find("stream_options")) {
    if (!options->is_object()) return top.fail("stream_options", "must be an object");
    Fields so(*options, "stream_options", error_param);
    VAMBA_ASSIGN_OR_RETURN(auto include_usage, so.boolean("include_usage"));
    request.include_usage = include_usage.value_or(false);
  }
  VAMBA_RETURN_IF_ERROR(refuse_unsupported(top));
  bool has_video = false;
  VAMBA_RETURN_IF_ERROR(parse_messages(doc, &request, &has_video, error_param));
  VAMBA_RETURN_IF_ERROR(parse_vamba(top, &request, &has_video, error_param));
  if (!has_video) {
    *error_param = "messages";
    return invalid_argument(
        "the user message needs a video: a {\"type\": \"video_url\", \"video_url\": {\"url\": "
        "...}} content part (or vamba.video_id for a video kept on the server)");
  }
  VAMBA_RETURN_IF_ERROR(parse_generation(top, &request));
  return request;
}

ApiError api_error(const Status& status, std::string param) {
  ApiError e;
  e.status_code = status.code();
  e.message = status.message();
  e.param = std::move(param);
  e.code = lower(status_code_name(status.code()));
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kOutOfRange:
      e.http_status = 400;
      e.type = "invalid_request_error";
      break;
    case StatusCode::kUnauthenticated:
      e.http_status = 401;
      e.type = "authentication_error";
      break;
    case StatusCode::kPermissionDenied:
      e.http_status = 403;
      e.type = "permission_error";
      break;
    case StatusCode::kNotFound:
      e.http_status = 404;
      e.type = "not_found_error";
      break;
    case StatusCode::kAlreadyExists:
    case StatusCode::kAborted:
      e.http_status = 409;
      e.type = "conflict_error";
      break;
    case StatusCode::kResourceExhausted:
      e.http_status = 429;
      e.type = "rate_limit_error";
      break;
    case StatusCode::kCancelled:
      e.http_status = 499;  // the client closed the request (nobody reads this answer)
      e.type = "cancelled_error";
      break;
    case StatusCode::kUnimplemented:
      e.http_status = 501;
      e.type = "not_implemented_error";
      break;
    case StatusCode::kUnavailable:
      e.http_status = 503;
      e.type = "service_unavailable_error";
      break;
    case StatusCode::kDeadlineExceeded:
      e.http_status = 504;
      e.type = "timeout_error";
      break;
    case StatusCode::kOk:  // not an error: a bug of the caller, reported as one
      e.message = "internal error: an error response for an OK status";
      [[fallthrough]];
    default:
      e.http_status = 500;
      e.type = "server_error";
      break;
  }
  return e;
}

ApiError request_error(const Status& status) {
  std::string message = status.message();
  std::string param;
  size_t first = std::string::npos;
  for (const FieldName& f : kFieldNames) {
    const std::string name = f.grpc, text = f.text;
    for (size_t at = find_unquoted(message, name, 0); at != std::string::npos;
         at = find_unquoted(message, name, at + text.size())) {
      if (f.at_start_only && at != 0) break;
      if (at <= first) {
        first = at;
        param = f.param;
      }
      message.replace(at, name.size(), text);
    }
  }
  return api_error(Status(status.code(), message), param);
}

ApiError payload_too_large(std::string message, std::string param) {
  ApiError e;
  e.http_status = 413;
  e.type = "invalid_request_error";
  e.code = "payload_too_large";
  e.message = std::move(message);
  e.param = std::move(param);
  e.status_code = StatusCode::kResourceExhausted;
  return e;
}

ApiError http_status_error(int http_status) {
  switch (http_status) {
    case 400:
      return api_error(invalid_argument("the request could not be parsed as HTTP"));
    case 404:
      return api_error(
          not_found("no such endpoint (POST /v1/chat/completions, GET /v1/models, GET /health, GET "
                    "/metrics)"));
    case 405:
      return api_error(invalid_argument("this method is not allowed on this endpoint"));
    case 413:
      return payload_too_large(
          "the request body is larger than the server takes (--max-message-mb)");
    case 414:
      return api_error(invalid_argument("the request URI is too long"));
    default:
      break;
  }
  ApiError e =
      api_error(Status(http_status >= 500 ? StatusCode::kInternal : StatusCode::kInvalidArgument,
                       "HTTP status " + std::to_string(http_status)));
  e.http_status = http_status;
  return e;
}

std::string error_body(const ApiError& error) {
  return dump_json({{"error",
                     {{"message", error.message},
                      {"type", error.type},
                      {"param", error.param.empty() ? ojson(nullptr) : ojson(error.param)},
                      {"code", error.code.empty() ? ojson(nullptr) : ojson(error.code)}}}});
}

std::string openai_finish_reason(const std::string& finish_reason) {
  return finish_reason == "length" ? "length" : "stop";
}

ojson usage_json(const v1::AskSummary& summary) {
  const int64_t prompt = summary.prompt_tokens() + summary.video_tokens();
  return {{"prompt_tokens", prompt},
          {"completion_tokens", summary.completion_tokens()},
          {"total_tokens", prompt + summary.completion_tokens()},
          {"prompt_tokens_details",
           {{"cached_tokens", summary.video_cached() ? summary.video_tokens() : 0},
            {"video_tokens", summary.video_tokens()}}}};
}

ojson vamba_json(const v1::AskSummary& summary) {
  return {{"frames_used", summary.frames_used()},
          {"video_tokens", summary.video_tokens()},
          {"text_prompt_tokens", summary.prompt_tokens()},
          {"video_cached", summary.video_cached()},
          {"finish_reason", summary.finish_reason()},
          {"token_ids", std::vector<int64_t>(summary.tokens().begin(), summary.tokens().end())},
          {"timings", timings_json(summary.timings())}};
}

ojson completion_json(const CompletionMeta& meta, const v1::AskSummary& summary) {
  return {{"id", meta.id},
          {"object", "chat.completion"},
          {"created", meta.created},
          {"model", meta.model},
          {"choices",
           ojson::array({{{"index", 0},
                          {"message", {{"role", "assistant"}, {"content", summary.text()}}},
                          {"logprobs", nullptr},
                          {"finish_reason", openai_finish_reason(summary.finish_reason())}}})},
          {"usage", usage_json(summary)},
          {"vamba", vamba_json(summary)}};
}

std::string sse_event(const ojson& data) { return "data: " + dump_json(data) + "\n\n"; }

std::string role_chunk(const CompletionMeta& meta, bool include_usage) {
  return sse_event(
      chunk(meta, one_choice({{"role", "assistant"}, {"content", ""}}, nullptr), include_usage));
}

std::string content_chunk(const CompletionMeta& meta, const std::string& text, bool include_usage) {
  return sse_event(chunk(meta, one_choice({{"content", text}}, nullptr), include_usage));
}

std::string finish_chunk(const CompletionMeta& meta, const v1::AskSummary& summary,
                         bool include_usage) {
  ojson j = chunk(meta, one_choice(ojson::object(), openai_finish_reason(summary.finish_reason())),
                  include_usage);
  j["vamba"] = vamba_json(summary);
  return sse_event(j);
}

std::string usage_chunk(const CompletionMeta& meta, const v1::AskSummary& summary) {
  ojson j = chunk(meta, ojson::array(), false);
  j["usage"] = usage_json(summary);
  return sse_event(j);
}

std::string error_event(const ApiError& error) { return "data: " + error_body(error) + "\n\n"; }

ojson model_json(const std::string& id, int64_t created) {
  return {{"id", id}, {"object", "model"}, {"created", created}, {"owned_by", "vamba"}};
}

ojson models_json(const std::string& id, int64_t created) {
  return {{"object", "list"}, {"data", ojson::array({model_json(id, created)})}};
}

std::string dump_json(const ojson& j) {
  return j.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

}  // namespace vamba::service
