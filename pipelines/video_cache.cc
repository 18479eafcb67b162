#include "pipelines/video_cache.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <random>

namespace vamba::pipelines {

size_t encoded_video_bytes(const EncodedVideo& video) {
  return video.state.bytes() + video.frame_timestamps.size() * sizeof(double) + sizeof(video);
}

std::string VideoCache::new_id_locked() {
  // Ids are unguessable enough that one client cannot stumble on another's video by counting.
  if (rng_state_ == 0) {
    std::random_device rd;
    rng_state_ = (uint64_t{rd()} << 32) ^ rd() ^
                 static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    if (rng_state_ == 0) rng_state_ = 0x9E3779B97F4A7C15ull;
  }
  static const char* kHex = "0123456789abcdef";
  for (;;) {
    std::string id = "v-";
    for (int word = 0; word < 2; ++word) {
      // splitmix64
      uint64_t z = (rng_state_ += 0x9E3779B97F4A7C15ull);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      z ^= z >> 31;
      for (int i = 0; i < 16; ++i) id.push_back(kHex[(z >> (4 * i)) & 15]);
    }
    if (!index_.count(id)) return id;
  }
}

StatusOr<std::string> VideoCache::put(CachedVideo video) {
  if (!video.encoded && !video.raw) return invalid_argument("video cache: empty entry");
  if (video.bytes > budget_) {
    return resource_exhausted("the video needs " + std::to_string(video.bytes >> 20) +
                              " MiB, more than the whole video cache (" +
                              std::to_string(budget_ >> 20) + " MiB, --cache-mb)");
  }
  std::lock_guard<std::mutex> lock(mu_);
  while (bytes_ + video.bytes > budget_ && !lru_.empty()) {
    const Entry& victim = lru_.back();
    spdlog::info("video cache: evicting {} ({} bytes)", victim.id, victim.video.bytes);
    bytes_ -= victim.video.bytes;
    index_.erase(victim.id);
    lru_.pop_back();
    ++evictions_;
  }
  std::string id = new_id_locked();
  bytes_ += video.bytes;
  lru_.push_front(Entry{id, std::move(video)});
  index_[id] = lru_.begin();
  return id;
}

StatusOr<CachedVideo> VideoCache::get(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(id);
  if (it == index_.end()) {
    return not_found("video id '" + id + "' is not on the server (never kept, deleted or evicted)");
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->video;
}

Status VideoCache::erase(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(id);
  if (it == index_.end()) return not_found("video id '" + id + "' is not on the server");
  bytes_ -= it->second->video.bytes;
  lru_.erase(it->second);
  index_.erase(it);
  return ok_status();
}

VideoCache::Stats VideoCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return Stats{lru_.size(), bytes_, budget_, evictions_};
}

}  // namespace vamba::pipelines
