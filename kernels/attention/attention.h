// Attention on the GPU for every place the model uses it, through one params struct:
//   - causal text prefill and decode against a KV cache (GQA; head_dim 128 at 7B, 32 tiny),
//   - cross attention from a few hundred text queries to 10^5–10^6 video keys (no mask, GQA),
//   - segment (varlen) attention for the vision tower (cu_seqlens; head_dim 80 real, 16 tiny).
// All tensors are bf16 with fp32 softmax statistics and accumulation. The CPU twin is
// kernels/reference/attention.h.
//
// Layout: q and o are (q_tokens, num_heads, head_dim), k and v (kv_tokens, num_kv_heads, head_dim),
// each with its own token and head strides in elements (the head dimension is contiguous), so a KV
// cache with spare capacity or a fused qkv buffer can be read in place. Query head h reads kv head
// h / (num_heads / num_kv_heads).
//
// Causal masks go through q_offset, as in the reference: query row i sits at key position
// q_offset + i and sees keys j ≤ q_offset + i (rows and keys counted over the whole tensors, also
// in segment mode). Prefill from an empty cache: q_offset 0; decoding n tokens against a cache of
// kv_len keys (the new ones included): q_offset = kv_len − n.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace vamba::kernels {

enum class AttentionImpl : int {
  kAuto = 0,           // the fastest correct kernel (today: kTensorCore)
  kTensorCore = 1,     // mma.sync flash kernel, shared-memory fragments through ldmatrix
  kTensorCoreLds = 2,  // the same kernel with plain 32-bit shared loads (a cross-check)
  kSimple = 3,         // one warp per (query, head), fp32 CUDA cores: slow, for checking
};

struct AttentionParams {
  const void* q = nullptr;  // bf16 (q_tokens, num_heads, head_dim)
  const void* k = nullptr;  // bf16 (kv_tokens, num_kv_heads, head_dim)
  const void* v = nullptr;  // bf16 (kv_tokens, num_kv_heads, head_dim)
  void* o = nullptr;        // bf16 (q_tokens, num_heads, head_dim); must not alias q, k, v
  int64_t q_token_stride = 0, q_head_stride = 0;  // elements
  int64_t k_token_stride = 0, k_head_stride = 0;
  int64_t v_token_stride = 0, v_head_stride = 0;
  int64_t o_token_stride = 0, o_head_stride = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  // Dense mode: one sequence of q_len queries and kv_len keys. Segment mode: the totals over all
  // segments (rows of q/o and of k/v).
  int64_t q_len = 0;
  int64_t kv_len = 0;
  // Segment mode when cu_seqlens_q is set (device arrays of num_segments + 1 int64, starting at 0):
  // segment s holds queries [cu_seqlens_q[s], cu_seqlens_q[s+1]) and keys [cu_seqlens_k[s],
  // cu_seqlens_k[s+1]), and queries attend to their own segment's keys only. max_seqlen_q must
  // bound every segment's query count (it sizes the grid).
  const int64_t* cu_seqlens_q = nullptr;
  const int64_t* cu_seqlens_k = nullptr;
  int64_t num_segments = 0;
  int64_t max_seqlen_q = 0;
  bool causal = false;
  int64_t q_offset = 0;  // causal only: the key position of query row 0
  float scale = 0.0f;    // softmax scale, usually 1/sqrt(head_dim)
  AttentionImpl impl = AttentionImpl::kAuto;
  // Key splits (flash-decoding): 0 lets attention_plan choose. Each split writes fp32 partial
  // results to `workspace`, and a second kernel merges them with their log-sum-exp weights.
  int num_splits = 0;
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
};

// Why the kernel cannot run these params (unsupported head_dim, misaligned pointers or strides,
// bad shapes), or nullptr when it can.
const char* attention_can_implement(const AttentionParams& p);

struct AttentionPlan {
  int num_splits = 1;
  size_t workspace_bytes = 0;  // device memory the caller must pass as params.workspace
};

// The split count and workspace size for p on the current device (p.num_splits > 0 is kept).
// Splits are used when one split per (query tile, kv head) would leave most multiprocessors idle:
// decode and cross attention over long videos.
AttentionPlan attention_plan(const AttentionParams& p);

// Runs attention on `stream`. p.num_splits == 0 plans on the spot; a plan that needs a workspace
// larger than p.workspace_bytes returns cudaErrorInvalidValue.
cudaError_t attention_forward(const AttentionParams& p, cudaStream_t stream);

}  // namespace vamba::kernels
