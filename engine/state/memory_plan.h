// How much device memory a video needs, decided before any of its work starts.
//
// Encoding runs in bounded pieces — the vision tower on batches of frame pairs, the LM's video pass
// on chunks of tokens carrying each layer's Mamba state — so the only memory that grows with the
// video is the per-layer cross-attention K/V (57,344 bytes per token in bf16 at 7B). A plan adds
// that to the bounded working memory of one tower batch and one LM chunk; a video whose plan does
// not fit in what the device has free is refused up front (RESOURCE_EXHAUSTED) instead of running
// out of memory halfway through an hour of video.
#pragma once

#include <cstdint>
#include <string>

#include "engine/core/device.h"
#include "engine/core/dtype.h"
#include "engine/model/config.h"
#include "engine/state/kv_store.h"

namespace vamba {

struct VideoMemoryPlan {
  int64_t video_tokens = 0;
  int64_t kv_bytes = 0;        // every layer's cross-attention K/V: grows with the video
  int64_t lm_chunk_bytes = 0;  // one LM chunk's activations (bounded by max_chunk_tokens)
  int64_t tower_bytes = 0;     // one tower batch: pixels, activations and its output embeddings
  int64_t total_bytes() const { return kv_bytes + lm_chunk_bytes + tower_bytes; }
};

struct VideoMemoryShape {
  int64_t video_tokens = 0;
  int64_t max_chunk_tokens = 8192;  // the LM's video chunk (VideoOptions::max_chunk_tokens)
  int64_t tower_patches = 16384;    // patches in one tower batch
  KvStore kv_store = KvStore::kActivation;
};

// The plan for `shape` at `config` with activations of `activation` dtype. Working-memory figures
// count every buffer a chunk or batch holds at once, times a margin for the allocator's rounding.
VideoMemoryPlan plan_video_memory(const VambaConfig& config, DType activation,
                                  const VideoMemoryShape& shape);

// Bytes a new video may use on `device`: on CUDA, what the driver has free plus what our caching
// allocator holds unused, less `reserve_bytes` for other requests' text and decode work; on the
// CPU, physical memory free. `limit_bytes` > 0 caps the result (a configured budget).
StatusOr<int64_t> available_video_memory(Device device, int64_t reserve_bytes, int64_t limit_bytes);

// OK when the plan fits in `available_bytes`, else RESOURCE_EXHAUSTED saying what was asked, what
// is free, and what to change.
Status check_video_fits(const VideoMemoryPlan& plan, int64_t available_bytes);

std::string format_gib(int64_t bytes);

}  // namespace vamba
