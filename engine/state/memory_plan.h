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
  // One tower batch's activations, and its output (v0 of the batch's tokens, held on the device
  // until the LM has appended it: the whole video's v0 is never held at once).
  int64_t tower_bytes = 0;
  int64_t v0_bytes = 0;
  int64_t working_bytes() const { return lm_chunk_bytes + tower_bytes + v0_bytes; }
  int64_t total_bytes() const { return kv_bytes + working_bytes(); }
};

struct VideoMemoryShape {
  int64_t video_tokens = 0;
  int64_t max_chunk_tokens = 8192;  // the LM's video chunk (VideoOptions::max_chunk_tokens)
  int64_t tower_patches = 16384;    // patches in one tower batch
  KvStore kv_store = KvStore::kActivation;
};

// Working buffers are counted one by one from the shapes the layers and kernels allocate; this
// factor covers the caching allocator's rounding (2 MiB granules, size classes) and short-lived
// temporaries not counted (key-split partials, casts).
constexpr double kWorkingMemoryMargin = 1.5;

// Bytes one video token of an LM chunk holds at the widest point of a layer, without the margin:
// the piece's v_l, its normed copy, the mixer output and v_{l+1}; the cross K/V projections; the
// Mamba mixer's in_proj output, conv output, dt, y and its gated norm; and the chunked SSD's
// workspace (dt and its cumsum, C·Bᵀ over an SSD chunk, the chunk states in f32 and bf16).
int64_t lm_chunk_bytes_per_token(const VambaConfig& config, DType activation);

// Bytes one patch of a tower batch holds, without the margin: its pixels on the device (f32 and
// the activation-dtype copy), the rotary tables, the residual stream and the block's buffers
// (normed, q, k, v, attention output, projection, the MLP's mlp_ratio·E hidden), the merger's
// widened rows. Attention is flash-style per frame pair: nothing quadratic in the pair is held.
int64_t tower_bytes_per_patch(const VambaConfig& config, DType activation);

// The plan for `shape` at `config` with activations of `activation` dtype.
VideoMemoryPlan plan_video_memory(const VambaConfig& config, DType activation,
                                  const VideoMemoryShape& shape);

// Bytes a new video may use on `device`: on CUDA, what the driver has free plus what our caching
// allocator holds unused; on the CPU, the memory the kernel reports available (MemAvailable, else
// the physical memory). Less `reserve_bytes` (other requests' text and decode work); a positive
// `limit_bytes` caps the result (a configured budget, which also makes refusals testable).
StatusOr<int64_t> available_video_memory(Device device, int64_t reserve_bytes, int64_t limit_bytes);

// OK when the plan fits in `available_bytes`, else RESOURCE_EXHAUSTED saying the tokens, the
// memory needed and available, and what to change.
Status check_video_fits(const VideoMemoryPlan& plan, int64_t available_bytes);

// "12.34 GiB"; "5.0 MiB" or "4.0 KiB" below a tenth of the larger unit (a small configured cap
// stays readable).
std::string format_bytes(int64_t bytes);

}  // namespace vamba
