// The flash attention forward kernel (FlashAttention-2 style) on bf16 mma.sync tensor cores.
//
// Block: 4 warps, 64 packed query rows (see flash_args.h), each warp owns 16 rows for the whole key
// loop, so softmax statistics never leave registers. Keys come in tiles of 64 through a two-stage
// cp.async pipeline (tile t+1 loads while tile t computes). Per tile and warp:
//   S (16×64) = Q·Kᵀ      — Q fragments stay in registers, K fragments from shared memory
//   online softmax in the log2 domain (fp32), rows reduced across the 4 lanes that share them
//   O (16×D) += P·V       — P reused from S's accumulator registers as bf16 A fragments
// Shared memory: Q (64×D) + 2 stages × (K, V) (64×D each), rows padded by 8 elements (16 bytes) so
// that the 8 rows read by one fragment load fall in different banks. D = 128: 87 KB, two blocks per
// multiprocessor.
//
// One kernel serves dense causal/non-causal attention, key splits (partials + log-sum-exp for the
// combine kernel) and segments (blockIdx.z picks the segment).
#pragma once

#include <cuda_bf16.h>
#include <math_constants.h>

#include <cstdint>

#include "kernels/attention/flash_args.h"
#include "kernels/common/cuda_check.cuh"
#include "kernels/common/warp_mma.cuh"

namespace vamba::kernels::attention_detail {

template <int kD>
constexpr int flash_smem_bytes() {
  return (kFlashBlockM + 4 * kFlashBlockN) * (kD + 8) * 2;
}

template <int kD, bool kLdsm>
__global__ void __launch_bounds__(128) flash_fwd_kernel(const FlashArgs a) {
  static_assert(kD % 16 == 0 && kD <= 256, "head_dim must be a multiple of 16");
  constexpr int kBM = kFlashBlockM, kBN = kFlashBlockN, kLd = kD + 8;
  constexpr int kChunks = kD / 8;  // 16-byte pieces per row
  constexpr int kNbS = kBN / 8;    // 8-key column blocks of S
  constexpr int kNbO = kD / 8;     // 8-wide column blocks of O
  const float kNegInf = -CUDART_INF_F;

  extern __shared__ __align__(16) unsigned char smem_raw[];
  __nv_bfloat16* s_q = reinterpret_cast<__nv_bfloat16*>(smem_raw);
  __nv_bfloat16* s_k = s_q + kBM * kLd;      // 2 stages
  __nv_bfloat16* s_v = s_k + 2 * kBN * kLd;  // 2 stages

  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
  const int kvh = blockIdx.y;
  const int split = static_cast<int>(blockIdx.z % a.num_splits);
  const int64_t seg = blockIdx.z / a.num_splits;

  int64_t q_begin = 0, q_len = a.q_len, k_begin = 0, kv_len = a.kv_len;
  if (a.cu_seqlens_q != nullptr) {
    q_begin = a.cu_seqlens_q[seg];
    q_len = a.cu_seqlens_q[seg + 1] - q_begin;
    k_begin = a.cu_seqlens_k[seg];
    kv_len = a.cu_seqlens_k[seg + 1] - k_begin;
  }
  const int group = a.group;
  const int64_t rows = q_len * group;
  const int64_t row0 = static_cast<int64_t>(blockIdx.x) * kBM;
  if (row0 >= rows) return;  // block-uniform: a segment shorter than the grid

  // The block's key range: its split, cut at the last key any of its rows may see.
  // Local key index j is visible to local row i iff j <= i + offset (q_offset is global).
  const int64_t offset = a.q_offset + q_begin - k_begin;
  const int64_t n_begin = static_cast<int64_t>(split) * a.keys_per_split;
  int64_t n_end = n_begin + a.keys_per_split < kv_len ? n_begin + a.keys_per_split : kv_len;
  const int64_t row_last = (row0 + kBM < rows ? row0 + kBM : rows) - 1;
  if (a.causal && row_last / group + offset + 1 < n_end) n_end = row_last / group + offset + 1;
  const int n_tiles = n_end > n_begin ? static_cast<int>((n_end - n_begin + kBN - 1) / kBN) : 0;
  // Every row of the block sees all keys up to this one: tiles below it need no mask.
  const int64_t all_see = a.causal ? row0 / group + offset : INT64_MAX;

  const auto* q = static_cast<const __nv_bfloat16*>(a.q);
  const auto* k = static_cast<const __nv_bfloat16*>(a.k);
  const auto* v = static_cast<const __nv_bfloat16*>(a.v);

  for (int c = tid; c < kBM * kChunks; c += 128) {
    const int r = c / kChunks, col = (c % kChunks) * 8;
    const int64_t row = row0 + r;
    const bool valid = row < rows;
    const __nv_bfloat16* src = q;
    if (valid) {
      const int64_t tok = row / group;
      const int head = kvh * group + static_cast<int>(row % group);
      src = q + (q_begin + tok) * a.q_token_stride + head * a.q_head_stride + col;
    }
    mma::cp_async_16(s_q + r * kLd + col, src, valid);
  }
  auto load_kv = [&](int stage, int64_t n0) {
    __nv_bfloat16* dk = s_k + stage * kBN * kLd;
    __nv_bfloat16* dv = s_v + stage * kBN * kLd;
    for (int c = tid; c < kBN * kChunks; c += 128) {
      const int r = c / kChunks, col = (c % kChunks) * 8;
      const int64_t key = n0 + r;
      const bool valid = key < n_end;  // zero-filled past the end: 0 · V must not meet garbage
      const __nv_bfloat16* src_k = k;
      const __nv_bfloat16* src_v = v;
      if (valid) {
        src_k = k + (k_begin + key) * a.k_token_stride + kvh * a.k_head_stride + col;
        src_v = v + (k_begin + key) * a.v_token_stride + kvh * a.v_head_stride + col;
      }
      mma::cp_async_16(dk + r * kLd + col, src_k, valid);
      mma::cp_async_16(dv + r * kLd + col, src_v, valid);
    }
  };
  if (n_tiles > 0) load_kv(0, n_begin);
  mma::cp_async_commit();

  float acc[kNbO][4];
#pragma unroll
  for (int nb = 0; nb < kNbO; ++nb) acc[nb][0] = acc[nb][1] = acc[nb][2] = acc[nb][3] = 0.0f;
  float m_run[2] = {kNegInf, kNegInf};
  float l_run[2] = {0.0f, 0.0f};  // this lane's share of the row sums; reduced at the end
  uint32_t qf[kD / 16][4];

  const int64_t my_row = row0 + warp * 16 + g;  // and my_row + 8
  int64_t last_key[2];                          // the last key each of my rows may see
#pragma unroll
  for (int ri = 0; ri < 2; ++ri) {
    last_key[ri] = a.causal ? (my_row + 8 * ri) / group + offset : INT64_MAX;
  }

  for (int it = 0; it < n_tiles; ++it) {
    // Tile `it` has landed, and every warp is done with tile it-1, whose stage is refilled next.
    mma::cp_async_wait<0>();
    __syncthreads();
    if (it == 0) {
#pragma unroll
      for (int ks = 0; ks < kD / 16; ++ks) {
        if constexpr (kLdsm) {
          mma::ldsm_a_rowmajor(qf[ks], s_q, kLd, warp * 16, ks * 16, lane);
        } else {
          mma::load_a_rowmajor(qf[ks], s_q, kLd, warp * 16, ks * 16, lane);
        }
      }
    }
    if (it + 1 < n_tiles) load_kv((it + 1) & 1, n_begin + static_cast<int64_t>(it + 1) * kBN);
    mma::cp_async_commit();

    const __nv_bfloat16* sk = s_k + (it & 1) * kBN * kLd;
    const __nv_bfloat16* sv = s_v + (it & 1) * kBN * kLd;

    float s[kNbS][4];
#pragma unroll
    for (int nb = 0; nb < kNbS; ++nb) s[nb][0] = s[nb][1] = s[nb][2] = s[nb][3] = 0.0f;
#pragma unroll
    for (int ks = 0; ks < kD / 16; ++ks) {
#pragma unroll
      for (int nb = 0; nb < kNbS; nb += 2) {
        uint32_t b0[2], b1[2];
        if constexpr (kLdsm) {
          mma::ldsm_b_nk_x2(b0, b1, sk, kLd, nb * 8, ks * 16, lane);
        } else {
          mma::load_b_nk(b0, sk, kLd, nb * 8, ks * 16, lane);
          mma::load_b_nk(b1, sk, kLd, nb * 8 + 8, ks * 16, lane);
        }
        mma::mma_bf16_16816(s[nb], qf[ks], b0);
        mma::mma_bf16_16816(s[nb + 1], qf[ks], b1);
      }
    }

    const int64_t n0 = n_begin + static_cast<int64_t>(it) * kBN;
    const bool need_mask = n0 + kBN > n_end || n0 + kBN - 1 > all_see;
#pragma unroll
    for (int nb = 0; nb < kNbS; ++nb) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        float x = s[nb][e] * a.scale_log2;
        if (need_mask) {
          const int64_t key = n0 + nb * 8 + 2 * t + (e & 1);
          if (key >= n_end || key > last_key[e >> 1]) x = kNegInf;
        }
        s[nb][e] = x;
      }
    }

#pragma unroll
    for (int ri = 0; ri < 2; ++ri) {
      float mx = kNegInf;
#pragma unroll
      for (int nb = 0; nb < kNbS; ++nb) mx = fmaxf(mx, fmaxf(s[nb][2 * ri], s[nb][2 * ri + 1]));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      const float m_new = fmaxf(m_run[ri], mx);
      // A row with no visible key yet keeps m = −inf; subtracting 0 instead keeps exp2 at 0, not
      // NaN.
      const float m_use = m_new == kNegInf ? 0.0f : m_new;
      const float alpha = exp2f(m_run[ri] - m_use);
      m_run[ri] = m_new;
      float sum = 0.0f;
#pragma unroll
      for (int nb = 0; nb < kNbS; ++nb) {
        const float p0 = exp2f(s[nb][2 * ri] - m_use);
        const float p1 = exp2f(s[nb][2 * ri + 1] - m_use);
        s[nb][2 * ri] = p0;
        s[nb][2 * ri + 1] = p1;
        sum += p0 + p1;
      }
      l_run[ri] = l_run[ri] * alpha + sum;
#pragma unroll
      for (int nb = 0; nb < kNbO; ++nb) {
        acc[nb][2 * ri] *= alpha;
        acc[nb][2 * ri + 1] *= alpha;
      }
    }

#pragma unroll
    for (int kk = 0; kk < kBN / 16; ++kk) {
      const uint32_t pa[4] = {mma::pack_bf16x2(s[2 * kk][0], s[2 * kk][1]),
                              mma::pack_bf16x2(s[2 * kk][2], s[2 * kk][3]),
                              mma::pack_bf16x2(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                              mma::pack_bf16x2(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
      for (int nb = 0; nb < kNbO; nb += 2) {
        uint32_t b0[2], b1[2];
        if constexpr (kLdsm) {
          mma::ldsm_b_kn_x2(b0, b1, sv, kLd, nb * 8, kk * 16, lane);
        } else {
          mma::load_b_kn(b0, sv, kLd, nb * 8, kk * 16, lane);
          mma::load_b_kn(b1, sv, kLd, nb * 8 + 8, kk * 16, lane);
        }
        mma::mma_bf16_16816(acc[nb], pa, b0);
        mma::mma_bf16_16816(acc[nb + 1], pa, b1);
      }
    }
  }
  mma::cp_async_wait<0>();

#pragma unroll
  for (int ri = 0; ri < 2; ++ri) {
    l_run[ri] += __shfl_xor_sync(0xffffffffu, l_run[ri], 1);
    l_run[ri] += __shfl_xor_sync(0xffffffffu, l_run[ri], 2);
  }

#pragma unroll
  for (int ri = 0; ri < 2; ++ri) {
    const int64_t row = my_row + 8 * ri;
    if (row >= rows) continue;
    const float inv = l_run[ri] > 0.0f ? 1.0f / l_run[ri] : 0.0f;
    if (a.num_splits == 1) {
      const int64_t tok = row / group;
      const int head = kvh * group + static_cast<int>(row % group);
      __nv_bfloat16* dst = static_cast<__nv_bfloat16*>(a.o) + (q_begin + tok) * a.o_token_stride +
                           head * a.o_head_stride + 2 * t;
#pragma unroll
      for (int nb = 0; nb < kNbO; ++nb) {
        *reinterpret_cast<uint32_t*>(dst + nb * 8) =
            mma::pack_bf16x2(acc[nb][2 * ri] * inv, acc[nb][2 * ri + 1] * inv);
      }
    } else {
      const int64_t slot = (static_cast<int64_t>(split) * a.num_kv_heads + kvh) * rows + row;
      float* dst = a.partial_o + slot * kD + 2 * t;
#pragma unroll
      for (int nb = 0; nb < kNbO; ++nb) {
        *reinterpret_cast<float2*>(dst + nb * 8) =
            make_float2(acc[nb][2 * ri] * inv, acc[nb][2 * ri + 1] * inv);
      }
      if (t == 0) a.partial_lse[slot] = l_run[ri] > 0.0f ? m_run[ri] + log2f(l_run[ri]) : kNegInf;
    }
  }
}

template <int kD>
cudaError_t launch_flash_fwd(const FlashArgs& a, bool ldmatrix, cudaStream_t stream) {
  constexpr int kSmem = flash_smem_bytes<kD>();
  const dim3 grid(static_cast<unsigned>((a.max_rows + kFlashBlockM - 1) / kFlashBlockM),
                  static_cast<unsigned>(a.num_kv_heads),
                  static_cast<unsigned>(a.num_segments * a.num_splits));
  if (grid.x == 0) return cudaSuccess;
  if (ldmatrix) {
    VAMBA_CUDA_TRY(cudaFuncSetAttribute(flash_fwd_kernel<kD, true>,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem));
    flash_fwd_kernel<kD, true><<<grid, 128, kSmem, stream>>>(a);
  } else {
    VAMBA_CUDA_TRY(cudaFuncSetAttribute(flash_fwd_kernel<kD, false>,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem));
    flash_fwd_kernel<kD, false><<<grid, 128, kSmem, stream>>>(a);
  }
  return cudaGetLastError();
}

}  // namespace vamba::kernels::attention_detail
