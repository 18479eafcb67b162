// What the hybrid language model carries between calls.
//
// VideoState: everything the text needs from a video, computed once per video and read-only
// afterwards, so one encoded video answers many questions at the cost of the text alone:
//   per layer, the cross-attention K/V of that layer's video states v_l (video tokens × kv heads);
//   per layer, the Mamba-2 conv and SSM states after the last video token, so more video (the next
//   piece of a long file, the next frames of a stream) can be appended without re-encoding.
// The video hidden states themselves are not kept: a piece's v_l is only needed while that piece
// passes through the layers.
//
// TextState: the text KV cache of every layer and the number of text positions so far (M-RoPE
// positions continue from it). One per conversation; it never changes the VideoState.
#pragma once

#include <vector>

#include "engine/state/kv_buffer.h"

namespace vamba {

struct MambaLayerState {
  Tensor conv;  // (d_conv − 1, conv_dim) f32: the last conv inputs, oldest first
  Tensor ssm;   // (nheads, headdim, d_state) f32
};

struct VideoState {
  std::vector<KvBuffer> cross_kv;      // per layer, (tokens, kv heads, head_dim)
  std::vector<MambaLayerState> mamba;  // per layer; empty when the config has no Mamba mixer
  int64_t tokens = 0;                  // video tokens appended so far

  size_t bytes() const;
};

struct TextState {
  std::vector<KvBuffer> kv;  // per layer, (positions, kv heads, head_dim)
  int64_t length = 0;        // text positions so far

  size_t bytes() const;
};

}  // namespace vamba
