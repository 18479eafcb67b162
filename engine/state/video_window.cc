#include "engine/state/video_window.h"

#include <string>

namespace vamba {

Status drop_oldest_video_tokens(VideoState* video, int64_t n, const Stream& stream) {
  if (video == nullptr) return invalid_argument("drop_oldest_video_tokens: video state is null");
  const int64_t held = video_tokens_held(*video);
  for (const KvBuffer& kv : video->cross_kv) {
    if (kv.length() != held) {
      return invalid_argument(
          "drop_oldest_video_tokens: the layers hold different numbers of "
          "video tokens (" +
          std::to_string(kv.length()) + " vs " + std::to_string(held) + ")");
    }
  }
  if (n < 0 || n > held) {
    return out_of_range("drop_oldest_video_tokens: cannot drop " + std::to_string(n) + " of " +
                        std::to_string(held) + " video tokens");
  }
  if (n == 0) return ok_status();
  for (KvBuffer& kv : video->cross_kv) VAMBA_RETURN_IF_ERROR(kv.drop_front(n, stream));
  return ok_status();
}

int64_t video_tokens_held(const VideoState& video) {
  return video.cross_kv.empty() ? 0 : video.cross_kv.front().length();
}

}  // namespace vamba
