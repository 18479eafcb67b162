// The resolved launch arguments shared by the attention kernels (internal to kernels/attention).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace vamba::kernels::attention_detail {

struct FlashArgs {
  const void* q;
  const void* k;
  const void* v;
  void* o;
  int64_t q_token_stride, q_head_stride;
  int64_t k_token_stride, k_head_stride;
  int64_t v_token_stride, v_head_stride;
  int64_t o_token_stride, o_head_stride;
  int num_heads, num_kv_heads, group;  // group = num_heads / num_kv_heads
  int head_dim;
  int64_t q_len, kv_len;  // dense mode: the sequence; segment mode: totals
  const int64_t* cu_seqlens_q;
  const int64_t* cu_seqlens_k;
  int64_t num_segments;  // 1 in dense mode
  int64_t max_rows;      // query rows of the largest segment × group (the grid's x extent in rows)
  bool causal;
  int64_t q_offset;  // key j visible to query i iff j <= q_offset + i (global row/key indices)
  float scale_log2;  // softmax scale × log2(e): scores live in the log2 domain
  // Key splits: split s covers keys [s·keys_per_split, (s+1)·keys_per_split) of the sequence.
  int num_splits;
  int64_t keys_per_split;  // a multiple of the key tile
  // Split mode (num_splits > 1, dense only): partial outputs (split, kv_head, row, head_dim) fp32,
  // normalised by their own sum, and their log2-sum-exp (split, kv_head, row).
  float* partial_o;
  float* partial_lse;
};

// Query rows of one kv head are packed as row = token · group + (head − kv_head · group), so all
// heads that share a kv head read each key tile once (decode and cross attention are bandwidth- or
// compute-bound on that tile, not on the queries).
constexpr int kFlashBlockM = 64;  // packed query rows per block (4 warps × 16)
constexpr int kFlashBlockN = 64;  // keys per tile

cudaError_t launch_flash_fwd_hdim16(const FlashArgs& a, bool ldmatrix, cudaStream_t stream);
cudaError_t launch_flash_fwd_hdim32(const FlashArgs& a, bool ldmatrix, cudaStream_t stream);
cudaError_t launch_flash_fwd_hdim80(const FlashArgs& a, bool ldmatrix, cudaStream_t stream);
cudaError_t launch_flash_fwd_hdim128(const FlashArgs& a, bool ldmatrix, cudaStream_t stream);

// Merges the split partials into o (bf16).
cudaError_t launch_flash_combine(const FlashArgs& a, cudaStream_t stream);

// The fp32 one-warp-per-(query, head) kernel.
cudaError_t launch_attention_simple(const FlashArgs& a, cudaStream_t stream);

}  // namespace vamba::kernels::attention_detail
