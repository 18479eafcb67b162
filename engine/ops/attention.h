// Tensor-level attention: softmax(q·kᵀ·scale)·v with grouped-query heads (Hq a multiple of Hkv).
// Three entry points share the reference (kernels/reference/attention.h) but let the CUDA backend
// pick a kernel suited to each shape.
#pragma once

#include <vector>

#include "engine/ops/common.h"

namespace vamba::ops {

struct AttentionOptions {
  float scale = 0.0f;    // 0: 1 / sqrt(head_dim)
  bool causal = false;   // bottom-right aligned through q_offset
  int64_t q_offset = 0;  // causal: key position of query row 0
  // Varlen segments (self-attention only, n_q == n_k): [0, e_1, …, n]; a query attends only to keys
  // in its own segment (the vision tower's temporal groups). Empty: one segment.
  std::vector<int64_t> cu_seqlens;
};

// General attention (prefill self-attention, the vision tower).
// q: (n_q, Hq, D); k, v: (n_k, Hkv, D); out: (n_q, Hq, D). All activation dtype, same device.
Status attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& options,
                 Tensor* out, const Stream& stream);

// Cross-attention of few queries (the text, ~10²) over very many keys (the video, up to ~10⁶):
// non-causal, no mask. Same shapes as attention(). CUDA: split the keys over blocks and combine
// partial softmaxes (flash-decoding style) since n_q alone cannot fill the GPU.
Status cross_attention(const Tensor& q, const Tensor& k, const Tensor& v, float scale, Tensor* out,
                       const Stream& stream);

// Decode-step cross attention straight from an fp8 e4m3 video store (engine/state/kv_store.h
// layout): q (n_q, Hq, D) bf16; k_codes, v_codes (capacity, Hkv, D) u8 with kv_len valid rows;
// k_scales, v_scales (ceil(capacity / 64), Hkv) f32. CUDA only, and only where the few-row
// cross-attention kernel takes the shape: *ran says whether it ran. Otherwise (CPU, prefill-sized
// n_q) the caller dequantizes (KvBuffer::read) and calls cross_attention, which is also the
// reference this must match.
Status cross_attention_fp8(const Tensor& q, const Tensor& k_codes, const Tensor& v_codes,
                           const Tensor& k_scales, const Tensor& v_scales, int64_t kv_len,
                           float scale, Tensor* out, const Stream& stream, bool* ran);

// Causal attention of n_q new queries against a KV cache whose first kv_len rows are valid (the new
// keys already appended): query i sits at position kv_len − n_q + i.
// q: (n_q, Hq, D); k_cache, v_cache: (capacity, Hkv, D) with kv_len ≤ capacity; out: (n_q, Hq, D).
Status decode_attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                        int64_t kv_len, float scale, Tensor* out, const Stream& stream);

// One decode step of B independent sequences, one query each, every sequence with its own KV
// cache: q (B, Hq, D); sequence b attends to rows [0, kv_lens[b]) of k_caches[b] / v_caches[b]
// (each (capacity, Hkv, D), kv_lens[b] ≤ capacity). With new_k / new_v (B, Hkv, D), row
// kv_lens[b] − 1 of each cache is first set to the sequence's new key / value (the step's own
// token: append and attention in one pass). The query is the newest position, so no mask applies.
// out: (B, Hq, D).
Status decode_attention_batch(const Tensor& q, const std::vector<Tensor>& k_caches,
                              const std::vector<Tensor>& v_caches,
                              const std::vector<int64_t>& kv_lens, const Tensor& new_k,
                              const Tensor& new_v, float scale, Tensor* out, const Stream& stream);

}  // namespace vamba::ops
