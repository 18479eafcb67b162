// Stage 5 of the chunked scan, several heads per block: the outputs of a whole chunk for a run of
// heads of one group,
//   y_i = exp(cs_i) · C_i · S_inᵀ  +  Σ_{j ≤ i} CB_ij · exp(cs_i − cs_j) · dt_j · x_j  +  D · x_i.
// Why: C and CB belong to the (chunk, group), not to the head, so a block that walks several heads
// loads them into shared memory once (CB as bf16, in the A-fragment layout) instead of once per
// head and row tile; x and the incoming state are loaded once per (chunk, head) instead of once per
// row tile. The per-head tiles (state, x, cumsum, dt) are single-buffered but staggered through
// cp.async: the next head's state loads during this head's within-chunk product, the next head's x
// during the next head's C·S product.
//
// Work split: the chunk's Q rows are Q/16 slices of 16 rows; warp w owns slices w and Q/16 − 1 − w,
// so every warp walks Q/16 + 1 key blocks of 16 (slice s needs key blocks 0 … s) and all finish
// together. Each slice keeps fp32 accumulators for all P columns.
// Decay: the diagonal key block takes exp(cs_i − cs_j) per element (masked j > i). Below it the
// decay splits at the last key r of the key block kb: exp(cs_i − cs_r) · exp(cs_r − cs_j), both
// ≤ 1 since j ≤ r < i (no overflow however strong the decay). The column part (with dt_j) is a
// per-head table; the row part is a running product over the key blocks walked downwards, one
// multiply per block, so there is no exponential per element off the diagonal.
// Precision: CB is rounded to bf16 once in shared memory and the weight CB·decay·dt once more for
// the tensor cores (the per-head kernel rounds only the weight):
// tests/kernels_cuda/seq_ssd_test.cc.
#include <algorithm>

#include "kernels/common/cuda_check.cuh"
#include "kernels/common/warp_mma.cuh"
#include "kernels/ssd/ssd_args.cuh"

namespace vamba::kernels::ssd_detail {
namespace {

// The default heads per block: at most this many, spread evenly over the group's heads (112 heads:
// 7 blocks of 16 per chunk; 14 of 8 for short sequences).
constexpr int kMaxHeadsPerBlock = 16;

template <int kP, int kN, int kQ>
struct ScanLayout {
  static constexpr int kSlices = kQ / 16;
  static constexpr int kWarps = kSlices / 2;
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kCbBlocks = kSlices * (kSlices + 1) / 2;  // 16×16 blocks on/below diagonal
  static constexpr int kLdC = padded_ld(kN), kLdS = padded_ld(kN), kLdX = padded_ld(kP);
  // Byte offsets (all 16-byte aligned).
  static constexpr int kC = 0;                          // C rows (i, n), bf16
  static constexpr int kCb = kC + kQ * kLdC * 2;        // CB blocks, bf16 fragments (uint4/lane)
  static constexpr int kX = kCb + kCbBlocks * 32 * 16;  // x of the head (j, p), bf16
  static constexpr int kS = kX + kQ * kLdX * 2;         // incoming state (p, n), bf16
  static constexpr int kCs = kS + kP * kLdS * 2;        // cumsum, two heads, fp32
  static constexpr int kDt = kCs + 2 * kQ * 4;          // dt, two heads, fp32
  static constexpr int kColf = kDt + 2 * kQ * 4;        // column decay factors, fp32
  static constexpr int kBd = kColf + kQ * 4;            // key-block decays, fp32
  static constexpr int kBytes = kBd + kSlices * 4;
};

// Index of CB block (slice s, key block kb ≤ s) in the triangle.
__device__ __forceinline__ int cb_block(int s, int kb) { return s * (s + 1) / 2 + kb; }

__device__ __forceinline__ float bf16_lo(uint32_t v) {
  return __int_as_float(static_cast<int>(v << 16));
}
__device__ __forceinline__ float bf16_hi(uint32_t v) {
  return __int_as_float(static_cast<int>(v & 0xffff0000u));
}

// The eight CB values of one A fragment: (lo, 2t), (lo, 2t+1), (hi, 2t), (hi, 2t+1), (lo, 2t+8),
// (lo, 2t+9), (hi, 2t+8), (hi, 2t+9) — the order of a[0..3]'s halves.
__device__ __forceinline__ void unpack_cb(const uint4& f, float (&v)[8]) {
  v[0] = bf16_lo(f.x);
  v[1] = bf16_hi(f.x);
  v[2] = bf16_lo(f.y);
  v[3] = bf16_hi(f.y);
  v[4] = bf16_lo(f.z);
  v[5] = bf16_hi(f.z);
  v[6] = bf16_lo(f.w);
  v[7] = bf16_hi(f.w);
}

template <int kNbO, bool kLdsm>
__device__ __forceinline__ void mma_x_block(float (&acc)[kNbO][4], const uint32_t (&af)[4],
                                            const __nv_bfloat16* s_x, int ld, int kb, int lane) {
#pragma unroll
  for (int nb = 0; nb < kNbO; nb += 2) {
    uint32_t b0[2], b1[2];
    if constexpr (kLdsm) {
      mma::ldsm_b_kn_x2(b0, b1, s_x, ld, nb * 8, kb * 16, lane);
    } else {
      mma::load_b_kn(b0, s_x, ld, nb * 8, kb * 16, lane);
      mma::load_b_kn(b1, s_x, ld, nb * 8 + 8, kb * 16, lane);
    }
    mma::mma_bf16_16816(acc[nb], af, b0);
    mma::mma_bf16_16816(acc[nb + 1], af, b1);
  }
}

// acc += Σ_{j ≤ i} CB_ij · exp(cs_i − cs_j) · dt_j · x_j for the 16 rows of slice s.
template <int kP, bool kLdsm, int kLdX>
__device__ __forceinline__ void within_chunk(float (&acc)[kP / 8][4], int s, const uint4* s_cb,
                                             const __nv_bfloat16* s_x, const float* cs,
                                             const float* dt, const float* colf, const float* bd,
                                             int lane) {
  constexpr int kNbO = kP / 8;
  const int gr = lane >> 2, t = lane & 3;
  const int i_lo = s * 16 + gr, i_hi = i_lo + 8;
  const float cs_lo = cs[i_lo], cs_hi = cs[i_hi];
  {  // The diagonal block: the exponential per element, j > i masked.
    float v[8];
    unpack_cb(s_cb[cb_block(s, s) * 32 + lane], v);
    float w[8];
#pragma unroll
    for (int e = 0; e < 8; ++e) {
      const int i = (e & 2) ? i_hi : i_lo;
      const int j = s * 16 + 2 * t + (e & 1) + ((e & 4) ? 8 : 0);
      w[e] = j <= i ? v[e] * __expf(((e & 2) ? cs_hi : cs_lo) - cs[j]) * dt[j] : 0.0f;
    }
    const uint32_t af[4] = {mma::pack_bf16x2(w[0], w[1]), mma::pack_bf16x2(w[2], w[3]),
                            mma::pack_bf16x2(w[4], w[5]), mma::pack_bf16x2(w[6], w[7])};
    mma_x_block<kNbO, kLdsm>(acc, af, s_x, kLdX, s, lane);
  }
  if (s == 0) return;
  // Row factors exp(cs_i − cs_r(kb)), r(kb) the last key of block kb, from kb = s − 1 down.
  float rf_lo = __expf(cs_lo - cs[s * 16 - 1]);
  float rf_hi = __expf(cs_hi - cs[s * 16 - 1]);
  for (int kb = s - 1; kb >= 0; --kb) {
    float v[8];
    unpack_cb(s_cb[cb_block(s, kb) * 32 + lane], v);
    // colf holds each block's columns in fragment order: 2t, 2t+1, 2t+8, 2t+9 at 4t … 4t+3.
    const float4 q = *reinterpret_cast<const float4*>(colf + kb * 16 + 4 * t);
    const float l0 = rf_lo * q.x, l1 = rf_lo * q.y, l8 = rf_lo * q.z, l9 = rf_lo * q.w;
    const float h0 = rf_hi * q.x, h1 = rf_hi * q.y, h8 = rf_hi * q.z, h9 = rf_hi * q.w;
    const uint32_t af[4] = {
        mma::pack_bf16x2(v[0] * l0, v[1] * l1), mma::pack_bf16x2(v[2] * h0, v[3] * h1),
        mma::pack_bf16x2(v[4] * l8, v[5] * l9), mma::pack_bf16x2(v[6] * h8, v[7] * h9)};
    mma_x_block<kNbO, kLdsm>(acc, af, s_x, kLdX, kb, lane);
    rf_lo *= bd[kb];  // exp(cs_r(kb) − cs_r(kb−1)) ≤ 1; bd[0] is never used as a step
    rf_hi *= bd[kb];
  }
}

template <int kP, int kN, int kQ, bool kLdsm>
__global__ void __launch_bounds__(ScanLayout<kP, kN, kQ>::kThreads, 1)
    ssd_chunk_scan_heads_kernel(const SsdArgs a, int heads_per_block, int splits) {
  using Lay = ScanLayout<kP, kN, kQ>;
  constexpr int kNbO = kP / 8, kThreads = Lay::kThreads, kLdC = Lay::kLdC, kLdS = Lay::kLdS,
                kLdX = Lay::kLdX;
  static_assert(kNbO % 2 == 0 && kN % 16 == 0, "P and N must be multiples of 16");
  extern __shared__ __align__(16) unsigned char smem_raw[];
  auto* s_c = reinterpret_cast<__nv_bfloat16*>(smem_raw + Lay::kC);
  auto* s_cb = reinterpret_cast<uint4*>(smem_raw + Lay::kCb);
  auto* s_x = reinterpret_cast<__nv_bfloat16*>(smem_raw + Lay::kX);
  auto* s_s = reinterpret_cast<__nv_bfloat16*>(smem_raw + Lay::kS);
  auto* s_cs = reinterpret_cast<float*>(smem_raw + Lay::kCs);
  auto* s_dt = reinterpret_cast<float*>(smem_raw + Lay::kDt);
  auto* s_colf = reinterpret_cast<float*>(smem_raw + Lay::kColf);
  auto* s_bd = reinterpret_cast<float*>(smem_raw + Lay::kBd);

  const int g = blockIdx.x / splits;
  const int h_begin = g * a.heads_per_group + (blockIdx.x % splits) * heads_per_block;
  const int group_end = (g + 1) * a.heads_per_group;
  const int h_end = h_begin + heads_per_block < group_end ? h_begin + heads_per_block : group_end;
  if (h_begin >= h_end) return;
  const int64_t c = blockIdx.y;
  const int64_t chunk0 = c * kQ;
  const int64_t L = a.p.length;
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, gr = lane >> 2, t = lane & 3;
  const auto* x = static_cast<const __nv_bfloat16*>(a.p.x);
  const auto* csrc = static_cast<const __nv_bfloat16*>(a.p.C);

  // Asynchronous loads of one head's tiles.
  auto load_state_cs_dt = [&](int h, int buf) {
    const __nv_bfloat16* st = a.states_in + (c * a.p.nheads + h) * static_cast<int64_t>(kP) * kN;
    for (int q = tid; q < kP * (kN / 8); q += kThreads) {
      const int r = q / (kN / 8), col = (q % (kN / 8)) * 8;
      mma::cp_async_16(s_s + r * kLdS + col, st + r * kN + col, true);
    }
    const float* cs = a.dA_cs + static_cast<int64_t>(h) * a.padded_len + chunk0;
    const float* dt = a.dt + static_cast<int64_t>(h) * a.padded_len + chunk0;
    for (int q = tid; q < kQ / 4; q += kThreads) {
      mma::cp_async_16(s_cs + buf * kQ + 4 * q, cs + 4 * q, true);
      mma::cp_async_16(s_dt + buf * kQ + 4 * q, dt + 4 * q, true);
    }
  };
  auto load_x = [&](int h) {
    for (int q = tid; q < kQ * (kP / 8); q += kThreads) {
      const int r = q / (kP / 8), col = (q % (kP / 8)) * 8;
      const int64_t row = chunk0 + r;
      const bool valid = row < L;
      const __nv_bfloat16* src =
          valid ? x + row * a.p.x_token_stride + static_cast<int64_t>(h) * kP + col : x;
      mma::cp_async_16(s_x + r * kLdX + col, src, valid);
    }
  };

  // The group's C rows (asynchronous) and CB blocks (converted to bf16 fragments on the way in).
  for (int q = tid; q < kQ * (kN / 8); q += kThreads) {
    const int r = q / (kN / 8), col = (q % (kN / 8)) * 8;
    const int64_t row = chunk0 + r;
    const bool valid = row < L;
    const __nv_bfloat16* src =
        valid ? csrc + row * a.p.c_token_stride + static_cast<int64_t>(g) * kN + col : csrc;
    mma::cp_async_16(s_c + r * kLdC + col, src, valid);
  }
  load_state_cs_dt(h_begin, 0);
  mma::cp_async_commit();
  load_x(h_begin);
  mma::cp_async_commit();
  {
    const float* cb = a.cb + (c * a.p.ngroups + g) * static_cast<int64_t>(kQ) * kQ;
    // Straight-line iterations (no search loop), so that the compiler can batch their loads.
#pragma unroll 4
    for (int q = tid; q < Lay::kCbBlocks * 32; q += kThreads) {
      const int blk = q >> 5, l = q & 31;
      int s = static_cast<int>((sqrtf(8.0f * blk + 1.0f) - 1.0f) * 0.5f);  // row of the triangle
      if ((s + 1) * (s + 2) / 2 <= blk) ++s;
      if (s * (s + 1) / 2 > blk) --s;
      const int kb = blk - s * (s + 1) / 2;
      const float* p = cb + static_cast<int64_t>(s * 16 + (l >> 2)) * kQ + kb * 16 + 2 * (l & 3);
      const float2 v0 = *reinterpret_cast<const float2*>(p);
      const float2 v1 = *reinterpret_cast<const float2*>(p + 8 * kQ);
      const float2 v2 = *reinterpret_cast<const float2*>(p + 8);
      const float2 v3 = *reinterpret_cast<const float2*>(p + 8 * kQ + 8);
      s_cb[q] = make_uint4(mma::pack_bf16x2(v0.x, v0.y), mma::pack_bf16x2(v1.x, v1.y),
                           mma::pack_bf16x2(v2.x, v2.y), mma::pack_bf16x2(v3.x, v3.y));
    }
  }

  const int slice[2] = {warp, Lay::kSlices - 1 - warp};
  auto* y = static_cast<__nv_bfloat16*>(a.p.y);
  for (int h = h_begin; h < h_end; ++h) {
    const int buf = (h - h_begin) & 1;
    const float* cs = s_cs + buf * kQ;
    const float* dt = s_dt + buf * kQ;
    mma::cp_async_wait<1>();  // this head's state, cumsum and dt (its x may still be in flight)
    __syncthreads();
    // Per-head decay tables: column factors exp(cs_r − cs_j) · dt_j (r: the last key of j's
    // block), stored in fragment order, and the steps between consecutive blocks' last keys.
    for (int j = tid; j < kQ; j += kThreads) {
      const int kb = j >> 4, col = j & 15;
      const int pos = kb * 16 + 4 * ((col & 7) >> 1) + 2 * (col >> 3) + (col & 1);
      s_colf[pos] = __expf(cs[kb * 16 + 15] - cs[j]) * dt[j];
    }
    for (int kb = tid; kb < Lay::kSlices; kb += kThreads) {
      s_bd[kb] = kb > 0 ? __expf(cs[kb * 16 + 15] - cs[kb * 16 - 1]) : 0.0f;
    }

    // First term: C_i · S_inᵀ for both slices (sharing the state fragments), then exp(cs_i).
    float acc[2][kNbO][4] = {};
#pragma unroll
    for (int ks = 0; ks < kN / 16; ++ks) {
      uint32_t af[2][4];
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        if constexpr (kLdsm) {
          mma::ldsm_a_rowmajor(af[e], s_c, kLdC, slice[e] * 16, ks * 16, lane);
        } else {
          mma::load_a_rowmajor(af[e], s_c, kLdC, slice[e] * 16, ks * 16, lane);
        }
      }
#pragma unroll
      for (int nb = 0; nb < kNbO; nb += 2) {
        uint32_t b0[2], b1[2];
        if constexpr (kLdsm) {
          mma::ldsm_b_nk_x2(b0, b1, s_s, kLdS, nb * 8, ks * 16, lane);
        } else {
          mma::load_b_nk(b0, s_s, kLdS, nb * 8, ks * 16, lane);
          mma::load_b_nk(b1, s_s, kLdS, nb * 8 + 8, ks * 16, lane);
        }
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          mma::mma_bf16_16816(acc[e][nb], af[e], b0);
          mma::mma_bf16_16816(acc[e][nb + 1], af[e], b1);
        }
      }
    }
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const float f_lo = __expf(cs[slice[e] * 16 + gr]), f_hi = __expf(cs[slice[e] * 16 + gr + 8]);
#pragma unroll
      for (int nb = 0; nb < kNbO; ++nb) {
        acc[e][nb][0] *= f_lo;
        acc[e][nb][1] *= f_lo;
        acc[e][nb][2] *= f_hi;
        acc[e][nb][3] *= f_hi;
      }
    }
    __syncthreads();  // s_s is free, s_colf and s_bd are written
    if (h + 1 < h_end) load_state_cs_dt(h + 1, buf ^ 1);
    mma::cp_async_commit();
    mma::cp_async_wait<1>();  // this head's x
    __syncthreads();

    // Second term, then + D·x and the bf16 store.
    const float dskip = a.p.D != nullptr ? a.p.D[h] : 0.0f;
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      within_chunk<kP, kLdsm, kLdX>(acc[e], slice[e], s_cb, s_x, cs, dt, s_colf, s_bd, lane);
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int i = slice[e] * 16 + gr + 8 * half;
        const int64_t row = chunk0 + i;
        if (row >= L) continue;
        __nv_bfloat16* yr = y + row * a.p.y_token_stride + static_cast<int64_t>(h) * kP + 2 * t;
#pragma unroll
        for (int nb = 0; nb < kNbO; ++nb) {
          const float2 xv = __bfloat1622float2(
              *reinterpret_cast<const __nv_bfloat162*>(s_x + i * kLdX + nb * 8 + 2 * t));
          *reinterpret_cast<uint32_t*>(yr + nb * 8) = mma::pack_bf16x2(
              acc[e][nb][2 * half] + dskip * xv.x, acc[e][nb][2 * half + 1] + dskip * xv.y);
        }
      }
    }
    __syncthreads();  // s_x, s_colf, s_bd and this head's cumsum / dt are free
    if (h + 1 < h_end) load_x(h + 1);
    mma::cp_async_commit();
  }
  mma::cp_async_wait<0>();
}

template <int kP, int kN, int kQ>
cudaError_t launch(const SsdArgs& a, bool ldmatrix, cudaStream_t stream) {
  using Lay = ScanLayout<kP, kN, kQ>;
  const int hpg = a.heads_per_group;
  int hpb = a.p.scan_heads_per_block;
  if (hpb <= 0) {
    // At most 16 heads per block; short sequences (few chunks) take at most 8, so that the grid
    // still fills the multiprocessors several times over (one block fits per multiprocessor).
    int sms = 0, dev = 0;
    VAMBA_CUDA_TRY(cudaGetDevice(&dev));
    VAMBA_CUDA_TRY(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
    int max_hpb = kMaxHeadsPerBlock;
    const int64_t blocks16 =
        a.nchunks * a.p.ngroups * ((hpg + kMaxHeadsPerBlock - 1) / kMaxHeadsPerBlock);
    if (blocks16 < 8 * static_cast<int64_t>(sms)) max_hpb = kMaxHeadsPerBlock / 2;
    const int runs = (hpg + max_hpb - 1) / max_hpb;
    hpb = (hpg + runs - 1) / runs;
  }
  hpb = std::min(hpb, hpg);
  const int splits = (hpg + hpb - 1) / hpb;
  const dim3 grid(static_cast<unsigned>(a.p.ngroups * splits), static_cast<unsigned>(a.nchunks));
  auto* kernel = ldmatrix ? ssd_chunk_scan_heads_kernel<kP, kN, kQ, true>
                          : ssd_chunk_scan_heads_kernel<kP, kN, kQ, false>;
  VAMBA_CUDA_TRY(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, Lay::kBytes));
  kernel<<<grid, Lay::kThreads, Lay::kBytes, stream>>>(a, hpb, splits);
  return cudaGetLastError();
}

template <int kP, int kN>
cudaError_t launch_q(const SsdArgs& a, bool ldmatrix, cudaStream_t stream) {
  switch (a.p.chunk_size) {
    case 64:
      return launch<kP, kN, 64>(a, ldmatrix, stream);
    case 128:
      return launch<kP, kN, 128>(a, ldmatrix, stream);
    case 256:
      return launch<kP, kN, 256>(a, ldmatrix, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

}  // namespace

cudaError_t launch_ssd_chunk_scan(const SsdArgs& a, bool ldmatrix, cudaStream_t stream) {
  if (a.p.impl == SsdImpl::kChunkedPerHead) return launch_ssd_chunk_scan_per_head(a, true, stream);
  if (a.p.headdim == 64 && a.p.dstate == 128) return launch_q<64, 128>(a, ldmatrix, stream);
  if (a.p.headdim == 32 && a.p.dstate == 16) return launch_q<32, 16>(a, ldmatrix, stream);
  return cudaErrorInvalidValue;
}

}  // namespace vamba::kernels::ssd_detail
