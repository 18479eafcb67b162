// Videos kept between requests of the service: raw uploads and encoded videos (per-layer
// cross-attention K/V and Mamba states), under one memory budget with least-recently-used eviction.
//
// Entries are shared_ptrs: a request that got a video keeps using it even if the cache evicts it
// meanwhile, so memory in use may pass the budget by the videos of requests still running; the
// budget bounds what the cache itself holds.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/core/status.h"
#include "pipelines/video_qa.h"

namespace vamba::pipelines {

// Memory an encoded video holds (the model state plus its small bookkeeping).
size_t encoded_video_bytes(const EncodedVideo& video);

struct CachedVideo {
  std::shared_ptr<const EncodedVideo> encoded;      // set for an encoded video
  std::shared_ptr<const std::vector<uint8_t>> raw;  // set for an uploaded file
  size_t bytes = 0;                                 // what the entry counts against the budget
  bool is_encoded() const { return encoded != nullptr; }
};

class VideoCache {
 public:
  explicit VideoCache(size_t budget_bytes) : budget_(budget_bytes) {}

  // Keeps `video` under a new random id, evicting least-recently-used entries to make room.
  // RESOURCE_EXHAUSTED when the video alone is larger than the whole budget.
  StatusOr<std::string> put(CachedVideo video);
  // The video kept under `id` (and marks it most recently used); NOT_FOUND when unknown/evicted.
  StatusOr<CachedVideo> get(const std::string& id);
  // Forgets `id`; NOT_FOUND when unknown.
  Status erase(const std::string& id);

  struct Stats {
    size_t entries = 0;
    size_t bytes = 0;
    size_t budget = 0;
    int64_t evictions = 0;
  };
  Stats stats() const;

 private:
  struct Entry {
    std::string id;
    CachedVideo video;
  };
  std::string new_id_locked();

  const size_t budget_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // front: most recently used
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  size_t bytes_ = 0;
  int64_t evictions_ = 0;
  uint64_t rng_state_ = 0;
};

}  // namespace vamba::pipelines
