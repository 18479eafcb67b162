// Scaled dot-product attention, softmax(q·kᵀ·scale)·v, with grouped-query heads, written one query
// row at a time: scores for one (query, head) are a row over the keys, never an (n_q, n_k) matrix,
// so cross-attention over 10^5 video keys needs O(n_k) scratch per thread.
//
// Causality is bottom-right aligned through q_offset: query i sits at key position q_offset + i and
// sees keys j ≤ q_offset + i. Prefill: q_offset 0, n_q = n_k. Decode against a cache holding n_k
// keys (the new ones included): q_offset = n_k − n_q.
//
// Segments (varlen): with cu_seqlens = [0, e_1, …, e_S] (S + 1 ascending offsets, e_S = n_q = n_k),
// a query in [e_s, e_{s+1}) attends only to keys in the same range (the vision tower's attention
// within each temporal patch group). Segments combine with `causal` (causal inside each segment).
#pragma once

#include <cstdint>

namespace vamba::kernels::reference {

struct AttentionParams {
  int64_t n_q = 0;           // query rows
  int64_t n_k = 0;           // key/value rows
  int64_t num_heads = 0;     // query heads Hq
  int64_t num_kv_heads = 0;  // key/value heads Hkv; query head h reads kv head h / (Hq / Hkv)
  int64_t head_dim = 0;      // D
  float scale = 1.0f;        // usually 1 / sqrt(D)
  bool causal = false;
  int64_t q_offset = 0;                 // causal only: key position of query row 0
  const int64_t* cu_seqlens = nullptr;  // (num_segments + 1) or nullptr
  int64_t num_segments = 0;
};

// q: (n_q, Hq, D); k, v: (n_k, Hkv, D); out: (n_q, Hq, D), must not alias q/k/v.
// Row strides are the packed ones (Hq·D and Hkv·D). Scores are fp32, the softmax normaliser and
// the weighted sum of v accumulate in double. A query row that sees no key gets zeros.
void attention(const float* q, const float* k, const float* v, float* out,
               const AttentionParams& p);

}  // namespace vamba::kernels::reference
