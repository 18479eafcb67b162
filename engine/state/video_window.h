// A sliding window over a video's cross-attention memory, for endless streams.
//
// The text reads a video only through each layer's cross-attention K/V (VideoState::cross_kv), and
// cross-attention has no mask and no positions (cross_attn_use_position_embeddings is false in
// Vamba), so forgetting the oldest video tokens is exactly "the text no longer sees those frames".
// The Mamba states are left alone: they already summarise every token appended, in order, and the
// next appended piece continues from them. So a stream can run forever with its K/V bounded while
// the recurrent summary still carries what came before.
#pragma once

#include <cstdint>

#include "engine/core/stream.h"
#include "engine/state/lm_state.h"

namespace vamba {

// Drops the n oldest video tokens from every layer's cross-attention K/V (KvBuffer::drop_front:
// one pass over the kept rows, capacity unchanged). VideoState::tokens keeps counting every token
// ever appended; the K/V now hold the last length − n of them. OUT_OF_RANGE when n is negative or
// more than the K/V hold; INVALID_ARGUMENT for a null state or layers of unequal length.
Status drop_oldest_video_tokens(VideoState* video, int64_t n, const Stream& stream);

// Video tokens the cross-attention K/V hold now (every layer holds the same number).
int64_t video_tokens_held(const VideoState& video);

}  // namespace vamba
