#include "vision/decode/ffmpeg_util.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <mutex>

namespace vamba::vision::ffmpeg {
namespace {

thread_local std::string t_last_error;

void log_callback(void* avcl, int level, const char* fmt, va_list args) {
  if (level > AV_LOG_VERBOSE) return;  // debug/trace chatter is never worth formatting
  char line[1024];
  int print_prefix = 1;
  av_log_format_line2(avcl, level, fmt, args, line, sizeof(line), &print_prefix);
  std::string text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.empty()) return;
  if (level <= AV_LOG_ERROR) t_last_error = text;
  // FFmpeg's own errors are reported through Status; its log is detail for whoever debugs.
  spdlog::debug("ffmpeg: {}", text);
}

}  // namespace

FramePtr clone_ref(const AVFrame* src) { return FramePtr(av_frame_clone(src)); }

std::string error_string(int averror) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(averror, buf, sizeof(buf));
  return buf;
}

void install_log_hook() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_callback(&log_callback); });
}

std::string last_log_line() { return t_last_error; }
void clear_last_log() { t_last_error.clear(); }

Status status_from_averror(int averror, SourceKind kind, const std::string& what) {
  std::string message = what + ": " + error_string(averror);
  const std::string detail = last_log_line();
  if (!detail.empty()) message += " (" + detail + ")";
  const bool network = kind == SourceKind::kUrl;
  switch (averror) {
    case AVERROR(ENOENT):
    case AVERROR_HTTP_NOT_FOUND:
      return not_found(message);
    case AVERROR(EACCES):
    case AVERROR(EPERM):
    case AVERROR_HTTP_UNAUTHORIZED:
    case AVERROR_HTTP_FORBIDDEN:
      return {StatusCode::kPermissionDenied, message};
    case AVERROR(ENOMEM):
      return resource_exhausted(message);
    case AVERROR_INVALIDDATA:
    case AVERROR_DEMUXER_NOT_FOUND:
    case AVERROR_DECODER_NOT_FOUND:
    case AVERROR_STREAM_NOT_FOUND:
    case AVERROR_PATCHWELCOME:
    case AVERROR(EINVAL):
    case AVERROR_BSF_NOT_FOUND:
      // A malformed or unsupported input; on a network source the bytes may have been cut short,
      // but the server did answer, so the input is still what is wrong.
      return invalid_argument(message);
    case AVERROR_PROTOCOL_NOT_FOUND:
      return invalid_argument(message + "; this FFmpeg build has no such protocol");
    case AVERROR_HTTP_BAD_REQUEST:
    case AVERROR_HTTP_OTHER_4XX:
      return invalid_argument(message);
    case AVERROR_HTTP_SERVER_ERROR:
    case AVERROR(ETIMEDOUT):
    case AVERROR(ECONNREFUSED):
    case AVERROR(ECONNRESET):
    case AVERROR(EHOSTUNREACH):
    case AVERROR(ENETUNREACH):
    case AVERROR(ENETDOWN):
    case AVERROR(EPIPE):
      return unavailable(message);
    case AVERROR_EOF:
      // The input ended before FFmpeg found what it needed (a truncated file or a cut stream).
      return network ? unavailable(message)
                     : invalid_argument(message + "; the input is truncated");
    default:
      break;
  }
  if (network) return unavailable(message);
  return invalid_argument(message);
}

}  // namespace vamba::vision::ffmpeg
