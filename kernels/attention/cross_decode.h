// Cross attention of a FEW text queries (a decode step: one query per sequence, up to 16 sequences
// over the same video) to the video's 10^5–10^6 keys, on tensor cores. The flash kernel
// (attention.h) packs those 7–112 query rows into 64-row blocks whose four warps all walk the same
// key tiles, three of them on padding; here every warp streams its OWN key tiles through a
// three-stage (bf16) or four-stage (fp8) cp.async pipeline, so each multiprocessor keeps ~100 KB of
// K/V in flight and the kernel can run at memory bandwidth. The CPU twin is
// kernels/reference/attention.h (non-causal).
//
// Rows: query token i, head h of kv head c is packed row i·group + (h − c·group) (as in the flash
// kernel); rows ≤ kCrossDecodeMaxRows. Per (row group of 32, key split, kv head) one block of four
// warps; warp w takes the block's 16-key tiles w, w + 4, …: S = Q·Kᵀ with the rows padded to 16 as
// the m16n8k16 A operand, online softmax in registers, O += P·V; the warps merge through shared
// memory, then the key splits through the flash combine kernel (log-sum-exp weights).
//
// Keys and values are bf16, or fp8 e4m3 with one f32 scale per (64-token block, kv head) (the
// layout of engine/state/kv_store.h): the codes are converted exactly to bf16 in shared memory and
// the scales applied in fp32 to the scores (keys) and to the softmax weights (values).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace vamba::kernels {

inline constexpr int kCrossDecodeMaxRows = 128;     // query tokens × group
inline constexpr int kCrossDecodeScaleTokens = 64;  // fp8: tokens per scale (kFp8KvBlockTokens)

enum class CrossDecodeKv : int {
  kBf16 = 0,
  kFp8E4M3 = 1,  // u8 codes + f32 block scales
};

struct CrossDecodeParams {
  const void* q = nullptr;  // bf16 (q_len, num_heads, head_dim)
  void* o = nullptr;        // bf16 (q_len, num_heads, head_dim); no alias with the inputs
  // (kv rows ≥ kv_len, num_kv_heads, head_dim): bf16, or u8 e4m3 codes for kFp8E4M3.
  const void* k = nullptr;
  const void* v = nullptr;
  // kFp8E4M3 only: (ceil(capacity / kCrossDecodeScaleTokens), num_kv_heads) f32, contiguous.
  const float* k_scales = nullptr;
  const float* v_scales = nullptr;
  CrossDecodeKv kv_type = CrossDecodeKv::kBf16;
  int64_t q_token_stride = 0, q_head_stride = 0;  // elements
  int64_t o_token_stride = 0, o_head_stride = 0;
  int64_t k_token_stride = 0, k_head_stride = 0;  // elements (bytes for fp8)
  int64_t v_token_stride = 0, v_head_stride = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;    // 32 (tiny model) or 128 (7B)
  int64_t q_len = 0;   // queries (q_len · num_heads / num_kv_heads ≤ kCrossDecodeMaxRows)
  int64_t kv_len = 0;  // ≥ 0; no key gives zeros
  float scale = 0.0f;  // softmax scale, usually 1/sqrt(head_dim)
  int num_splits = 0;  // 0: cross_decode_plan chooses
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
};

// nullptr when the kernel can run p, else why not (head_dim, rows, alignment, strides, scales).
const char* cross_decode_can_implement(const CrossDecodeParams& p);

struct CrossDecodePlan {
  int num_splits = 1;
  size_t workspace_bytes = 0;  // fp32 split partials; 0 with one split
};

// Key splits so that (row groups × splits × kv heads) blocks fill the device once at two blocks per
// multiprocessor, each split keeping at least 256 keys. Splits cover whole 64-key blocks, so a
// requested p.num_splits > 0 is recounted to the splits its block share leaves non-empty (e.g. 5
// splits of 333 keys = 6 blocks become 3 of 2 blocks).
CrossDecodePlan cross_decode_plan(const CrossDecodeParams& p);

// p.num_splits == 0 plans on the spot; a plan needing more workspace than given returns
// cudaErrorInvalidValue, and so do params cross_decode_can_implement rejects.
cudaError_t cross_decode_attention(const CrossDecodeParams& p, cudaStream_t stream);

}  // namespace vamba::kernels
