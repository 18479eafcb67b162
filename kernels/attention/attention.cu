// attention_forward: checks, split planning and dispatch to the per-head-dim flash kernels.
#include "kernels/attention/attention.h"

#include <cmath>
#include <cstdint>

#include "kernels/attention/flash_args.h"
#include "kernels/common/cuda_check.cuh"
#include "kernels/common/device_query.cuh"

namespace vamba::kernels {
namespace {

using attention_detail::FlashArgs;
using attention_detail::kFlashBlockM;
using attention_detail::kFlashBlockN;

bool tensor_core_head_dim(int d) { return d == 16 || d == 32 || d == 80 || d == 128; }

bool aligned(const void* p, uintptr_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

bool use_tensor_cores(const AttentionParams& p) { return p.impl != AttentionImpl::kSimple; }

size_t align_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

size_t partial_o_bytes(const AttentionParams& p, int splits) {
  return align_up(static_cast<size_t>(splits) * p.num_kv_heads * p.q_len *
                      (p.num_heads / p.num_kv_heads) * p.head_dim * sizeof(float),
                  256);
}

}  // namespace

const char* attention_can_implement(const AttentionParams& p) {
  if (!p.q || !p.k || !p.v || !p.o) return "attention: null tensor pointer";
  if (p.num_heads <= 0 || p.num_kv_heads <= 0 || p.num_heads % p.num_kv_heads != 0) {
    return "attention: num_heads must be a positive multiple of num_kv_heads";
  }
  if (p.num_kv_heads > 65535) return "attention: too many kv heads for the grid";
  if (p.q_len < 0 || p.kv_len < 0) return "attention: negative length";
  if (!(p.scale > 0.0f) || !std::isfinite(p.scale)) return "attention: scale must be positive";
  if (p.cu_seqlens_q != nullptr) {
    if (p.cu_seqlens_k == nullptr) return "attention: cu_seqlens_k missing in segment mode";
    if (p.num_segments <= 0 || p.num_segments > 65535) {
      return "attention: num_segments must be in [1, 65535]";
    }
    if (p.max_seqlen_q < 0) return "attention: negative max_seqlen_q";
  }
  if (p.num_splits < 0) return "attention: negative num_splits";
  if (use_tensor_cores(p)) {
    if (!tensor_core_head_dim(p.head_dim)) {
      return "attention: the tensor-core kernel is built for head_dim 16, 32, 80 and 128";
    }
    // 16-byte cp.async of q, k, v rows; 4-byte stores of o pairs.
    if (!aligned(p.q, 16) || !aligned(p.k, 16) || !aligned(p.v, 16) || !aligned(p.o, 4)) {
      return "attention: q, k, v must be 16-byte aligned and o 4-byte aligned";
    }
    for (int64_t s : {p.q_token_stride, p.q_head_stride, p.k_token_stride, p.k_head_stride,
                      p.v_token_stride, p.v_head_stride}) {
      if (s % 8 != 0) return "attention: q, k, v strides must be multiples of 8 elements";
    }
    if (p.o_token_stride % 2 != 0 || p.o_head_stride % 2 != 0) {
      return "attention: o strides must be even";
    }
    if (p.num_splits > 1 && p.cu_seqlens_q != nullptr) {
      return "attention: key splits are not supported in segment mode";
    }
  } else if (p.head_dim <= 0 || p.head_dim > 128) {
    return "attention: the simple kernel supports head_dim up to 128";
  }
  return nullptr;
}

AttentionPlan attention_plan(const AttentionParams& p) {
  AttentionPlan plan;
  if (!use_tensor_cores(p) || p.cu_seqlens_q != nullptr || p.kv_len == 0 || p.q_len == 0) {
    return plan;
  }
  const int64_t key_tiles = (p.kv_len + kFlashBlockN - 1) / kFlashBlockN;
  int64_t splits = p.num_splits;
  if (splits <= 0) {
    const int64_t rows = p.q_len * (p.num_heads / p.num_kv_heads);
    const int64_t blocks = (rows + kFlashBlockM - 1) / kFlashBlockM * p.num_kv_heads;
    // About three waves of resident blocks (two per multiprocessor at head_dim 128), and at least
    // four key tiles per split so the combine and the partial traffic stay small. Measured on an
    // H100 (64 queries × 28/4 heads × 131072 keys, 28 base blocks): 1 split 3976 µs, 8: 712,
    // 15: 759, 32: 652, 64: 679 — so aim at ~6 blocks per multiprocessor.
    const int64_t target = 6 * static_cast<int64_t>(multiprocessor_count());
    splits = blocks >= target ? 1 : (target + blocks - 1) / blocks;
    if (splits > key_tiles / 4) splits = key_tiles / 4;
    if (splits > 256) splits = 256;
    if (splits < 1) splits = 1;
  }
  // Whole key tiles per split; recount so that no split is empty.
  const int64_t tiles_per_split = (key_tiles + splits - 1) / splits;
  splits = (key_tiles + tiles_per_split - 1) / tiles_per_split;
  plan.num_splits = static_cast<int>(splits);
  if (plan.num_splits > 1) {
    const int64_t rows = p.q_len * (p.num_heads / p.num_kv_heads);
    plan.workspace_bytes =
        partial_o_bytes(p, plan.num_splits) +
        align_up(static_cast<size_t>(plan.num_splits) * p.num_kv_heads * rows * sizeof(float), 256);
  }
  return plan;
}

cudaError_t attention_forward(const AttentionParams& p, cudaStream_t stream) {
  if (attention_can_implement(p) != nullptr) return cudaErrorInvalidValue;
  if (p.q_len == 0) return cudaSuccess;
  const AttentionPlan plan = attention_plan(p);
  if (plan.workspace_bytes > 0 &&
      (p.workspace == nullptr || p.workspace_bytes < plan.workspace_bytes)) {
    return cudaErrorInvalidValue;
  }

  FlashArgs a{};
  a.q = p.q;
  a.k = p.k;
  a.v = p.v;
  a.o = p.o;
  a.q_token_stride = p.q_token_stride;
  a.q_head_stride = p.q_head_stride;
  a.k_token_stride = p.k_token_stride;
  a.k_head_stride = p.k_head_stride;
  a.v_token_stride = p.v_token_stride;
  a.v_head_stride = p.v_head_stride;
  a.o_token_stride = p.o_token_stride;
  a.o_head_stride = p.o_head_stride;
  a.num_heads = p.num_heads;
  a.num_kv_heads = p.num_kv_heads;
  a.group = p.num_heads / p.num_kv_heads;
  a.head_dim = p.head_dim;
  a.q_len = p.q_len;
  a.kv_len = p.kv_len;
  a.cu_seqlens_q = p.cu_seqlens_q;
  a.cu_seqlens_k = p.cu_seqlens_q != nullptr ? p.cu_seqlens_k : nullptr;
  a.num_segments = p.cu_seqlens_q != nullptr ? p.num_segments : 1;
  a.max_rows = (p.cu_seqlens_q != nullptr ? p.max_seqlen_q : p.q_len) * a.group;
  a.causal = p.causal;
  a.q_offset = p.q_offset;
  a.scale_log2 = p.scale * 1.4426950408889634f;
  a.num_splits = plan.num_splits;
  const int64_t key_tiles = (p.kv_len + kFlashBlockN - 1) / kFlashBlockN;
  a.keys_per_split = a.cu_seqlens_q != nullptr
                         ? INT64_MAX / 2  // a segment is never split; any length fits
                         : (key_tiles + plan.num_splits - 1) / plan.num_splits * kFlashBlockN;
  if (plan.num_splits > 1) {
    a.partial_o = static_cast<float*>(p.workspace);
    a.partial_lse = reinterpret_cast<float*>(static_cast<char*>(p.workspace) +
                                             partial_o_bytes(p, plan.num_splits));
  }

  if (!use_tensor_cores(p)) return attention_detail::launch_attention_simple(a, stream);
  const bool ldsm = p.impl != AttentionImpl::kTensorCoreLds;
  switch (p.head_dim) {
    case 16:
      VAMBA_CUDA_TRY(attention_detail::launch_flash_fwd_hdim16(a, ldsm, stream));
      break;
    case 32:
      VAMBA_CUDA_TRY(attention_detail::launch_flash_fwd_hdim32(a, ldsm, stream));
      break;
    case 80:
      VAMBA_CUDA_TRY(attention_detail::launch_flash_fwd_hdim80(a, ldsm, stream));
      break;
    case 128:
      VAMBA_CUDA_TRY(attention_detail::launch_flash_fwd_hdim128(a, ldsm, stream));
      break;
    default:
      return cudaErrorInvalidValue;
  }
  if (plan.num_splits > 1) return attention_detail::launch_flash_combine(a, stream);
  return cudaSuccess;
}

}  // namespace vamba::kernels
