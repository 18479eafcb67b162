#include "vision/decode/ffmpeg_util.h"

extern "C" {
#include <libavutil/display.h>
}

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cmath>
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

void InterruptState::arm(std::chrono::milliseconds budget) {
  deadline = budget.count() > 0 ? std::chrono::steady_clock::now() + budget
                                : std::chrono::steady_clock::time_point::max();
  cancelled = timed_out = false;
}

int interrupt_callback(void* opaque) {
  auto* state = static_cast<InterruptState*>(opaque);
  if (state->cancel && state->cancel->load(std::memory_order_relaxed)) {
    state->cancelled = true;
    return 1;
  }
  if (std::chrono::steady_clock::now() > state->deadline) {
    state->timed_out = true;
    return 1;
  }
  return 0;
}

int display_rotation(const AVStream* stream, const std::string& label) {
  size_t size = 0;
  const uint8_t* data = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size);
  if (!data || size < 9 * sizeof(int32_t)) return 0;
  const auto* matrix = reinterpret_cast<const int32_t*>(data);
  double theta = -av_display_rotation_get(matrix);
  if (std::isnan(theta)) return 0;
  theta -= 360.0 * std::floor(theta / 360.0 + 0.9 / 360.0);
  const int quarter = static_cast<int>(std::lround(theta / 90.0)) % 4;
  if (std::fabs(theta - quarter * 90.0) > 1.0) {
    spdlog::warn("{}: display rotation {:.1f} degrees is not a right angle; ignored", label, theta);
    return 0;
  }
  // A negative determinant means the matrix also mirrors the picture.
  const double det =
      static_cast<double>(matrix[0]) * matrix[4] - static_cast<double>(matrix[1]) * matrix[3];
  if (det < 0)
    spdlog::warn("{}: display matrix mirrors the picture; the flip is not applied", label);
  return quarter * 90;
}

}  // namespace vamba::vision::ffmpeg
