// Attention of ONE query per sequence over that sequence's keys: the decode step of text
// self-attention, where each sequence of a batch has its own KV cache of ~10^2–10^4 rows. The
// flash kernel (attention.h) handles one sequence per launch; this one takes the whole batch in one
// launch and appends each sequence's new key/value on the way. Keys stream on CUDA cores: every
// query head of a KV group is served by the same K/V loads, keys are split across blocks
// (flash-decoding) and the partial softmaxes merged by a second kernel. The CPU twin is
// kernels/reference/attention.h (non-causal: the query sees every key of its sequence).
//
// Used for batched decode (two or more sequences): one launch per layer instead of one per
// sequence, appends included. One sequence stays on the flash kernel (22 against 41 µs at 1K keys).
// Not for cross-attention to long videos: each key costs a per-head warp reduction in one
// dependency chain, so at 131K keys it measured 0.79 ms against the flash kernel's 0.25 ms (H100,
// bench/kernels/README.md); decode cross-attention stays on the flash kernel.
//
// Batching: up to kDecodeRowsMaxBatch sequences per launch, each with its own key/value base
// pointers and length, passed by value (no device-side pointer table to upload).
// Optionally the sequence's new key/value row (this step's token) is written into its cache at
// row kv_len − 1 by the kernel itself, fusing the cache append into the attention launch.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace vamba::kernels {

inline constexpr int kDecodeRowsMaxBatch = 16;

struct DecodeRowsParams {
  const void* q = nullptr;  // bf16 (batch, num_heads, head_dim), contiguous
  void* o = nullptr;        // bf16 (batch, num_heads, head_dim), contiguous; no alias with q, k, v
  // Sequence b: keys/values (rows ≥ kv_len[b], num_kv_heads, head_dim), rows contiguous (token
  // stride num_kv_heads · head_dim). Not const when new_k/new_v are given (the kernel writes row
  // kv_len[b] − 1).
  void* k[kDecodeRowsMaxBatch] = {};
  void* v[kDecodeRowsMaxBatch] = {};
  int64_t kv_len[kDecodeRowsMaxBatch] = {};
  // Optional (batch, num_kv_heads, head_dim) bf16: this step's key/value of each sequence, stored
  // into its cache at row kv_len[b] − 1 and used for that key. Both or neither.
  const void* new_k = nullptr;
  const void* new_v = nullptr;
  int batch = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  float scale = 0.0f;
  int num_splits = 0;  // key splits per (sequence, kv head); 0: decode_rows_plan chooses
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
};

struct DecodeRowsPlan {
  int num_splits = 1;
  size_t workspace_bytes = 0;
};

// nullptr when the kernel can run p: head_dim 32, 64, 80 or 128; num_heads a multiple of
// num_kv_heads with at most 8 query heads per KV head; 1 ≤ batch ≤ kDecodeRowsMaxBatch;
// every kv_len ≥ 1; 8-byte aligned pointers.
const char* decode_rows_can_implement(const DecodeRowsParams& p);

// Splits so that sequences × kv heads × splits fill the GPU a few blocks deep, each split keeping
// at least 64 keys; and the fp32 scratch they need.
DecodeRowsPlan decode_rows_plan(const DecodeRowsParams& p);

cudaError_t decode_rows_attention(const DecodeRowsParams& p, cudaStream_t stream);

}  // namespace vamba::kernels
