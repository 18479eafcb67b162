// Stage 5 of the chunked scan, one block per (head, 64-row tile, chunk): the previous kernel, kept
// as SsdImpl::kChunkedPerHead so that the benchmark and the tests can compare it with the
// several-heads-per-block kernel (ssd_chunk_scan_heads.cu, the default). The outputs of one 64-row
// tile of one chunk and head,
//   y_i = exp(cs_i) · C_i · S_inᵀ  +  Σ_{j ≤ i} CB_ij · exp(cs_i − cs_j) · dt_j · x_j  +  D · x_i.
// Each warp owns 16 rows and all P columns (fp32 accumulators). The first term is a (64 × N) ·
// (N × P) product against the incoming state (bf16, from the state passing). The second
// walks the key tiles j ≤ i; the decay-weighted CB tile is built in registers directly in the A
// fragment layout. Off the diagonal every j precedes every i, so the decay factors into a row part
// exp(cs_i − cs_ref) and a column part exp(cs_ref − cs_j) (cs_ref: the tile's last key; both ≤ 1,
// no overflow) and needs no exponential per element; the diagonal tile masks j > i and takes the
// exponential per element.
// Grid: (head, row tile, chunk) with the head fastest, so the heads that share a chunk's CB and B
// run together and find them in L2.
#include "kernels/common/cuda_check.cuh"
#include "kernels/common/warp_mma.cuh"
#include "kernels/ssd/ssd_args.cuh"

namespace vamba::kernels::ssd_detail {
namespace {

constexpr int kTile = 64;
constexpr int kMaxChunk = 256;
constexpr int kLdCb = kTile + 8;  // fp32 row stride of the CB tile: conflict-free float2 reads

template <int kP, int kN>
constexpr int scan_smem_bytes() {
  return kTile * padded_ld(kN) * 2 +  // C rows
         kP * padded_ld(kN) * 2 +     // incoming state (p, n)
         kTile * padded_ld(kP) * 2 +  // x tile (j, p)
         kTile * kLdCb * 4 +          // CB tile (i, j)
         2 * kMaxChunk * 4 +          // cumsum and dt of the chunk
         kTile * 4;                   // column factors of the current tile
}

template <int kP, int kN, bool kLdsm>
__global__ void __launch_bounds__(128) ssd_chunk_scan_kernel(const SsdArgs a) {
  constexpr int kLdC = padded_ld(kN), kLdS = padded_ld(kN), kLdX = padded_ld(kP);
  constexpr int kNbO = kP / 8;
  static_assert(kNbO % 2 == 0, "P must be a multiple of 16");
  extern __shared__ __align__(16) unsigned char smem_raw[];
  __nv_bfloat16* s_c = reinterpret_cast<__nv_bfloat16*>(smem_raw);
  __nv_bfloat16* s_s = s_c + kTile * kLdC;
  __nv_bfloat16* s_x = s_s + kP * kLdS;
  float* s_cb = reinterpret_cast<float*>(s_x + kTile * kLdX);
  float* s_cs = s_cb + kTile * kLdCb;
  float* s_dt = s_cs + kMaxChunk;
  float* s_colf = s_dt + kMaxChunk;

  const int h = blockIdx.x;
  const int mt = blockIdx.y;
  const int64_t c = blockIdx.z;
  const int g = h / a.heads_per_group;
  const int Q = a.p.chunk_size;
  const int64_t L = a.p.length;
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, gr = lane >> 2, t = lane & 3;
  const int64_t chunk0 = c * Q;  // first time step of the chunk
  const auto* x = static_cast<const __nv_bfloat16*>(a.p.x);
  const auto* csrc = static_cast<const __nv_bfloat16*>(a.p.C);

  {
    const float* cs = a.dA_cs + static_cast<int64_t>(h) * a.padded_len + chunk0;
    const float* dt = a.dt + static_cast<int64_t>(h) * a.padded_len + chunk0;
    for (int j = tid; j < Q; j += 128) {
      s_cs[j] = cs[j];
      s_dt[j] = dt[j];
    }
  }
  for (int q = tid; q < kTile * (kN / 8); q += 128) {
    const int r = q / (kN / 8), col = (q % (kN / 8)) * 8;
    const int64_t row = chunk0 + mt * kTile + r;
    uint4 v = make_uint4(0, 0, 0, 0);
    if (row < L) {
      v = *reinterpret_cast<const uint4*>(csrc + row * a.p.c_token_stride +
                                          static_cast<int64_t>(g) * kN + col);
    }
    *reinterpret_cast<uint4*>(s_c + r * kLdC + col) = v;
  }
  {
    const __nv_bfloat16* st = a.states_in + (c * a.p.nheads + h) * static_cast<int64_t>(kP) * kN;
    for (int q = tid; q < kP * (kN / 8); q += 128) {
      const int r = q / (kN / 8), col = (q % (kN / 8)) * 8;
      *reinterpret_cast<uint4*>(s_s + r * kLdS + col) =
          *reinterpret_cast<const uint4*>(st + r * kN + col);
    }
  }
  __syncthreads();

  // First term: C_i · S_inᵀ, then the decay from the chunk start.
  float acc[kNbO][4] = {};
#pragma unroll
  for (int ks = 0; ks < kN / 16; ++ks) {
    uint32_t af[4];
    if constexpr (kLdsm) {
      mma::ldsm_a_rowmajor(af, s_c, kLdC, warp * 16, ks * 16, lane);
    } else {
      mma::load_a_rowmajor(af, s_c, kLdC, warp * 16, ks * 16, lane);
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
      mma::mma_bf16_16816(acc[nb], af, b0);
      mma::mma_bf16_16816(acc[nb + 1], af, b1);
    }
  }
  const int i_lo = mt * kTile + warp * 16 + gr;  // my rows in the chunk: i_lo, i_lo + 8
  const int i_hi = i_lo + 8;
  {
    const float f_lo = __expf(s_cs[i_lo]), f_hi = __expf(s_cs[i_hi]);
#pragma unroll
    for (int nb = 0; nb < kNbO; ++nb) {
      acc[nb][0] *= f_lo;
      acc[nb][1] *= f_lo;
      acc[nb][2] *= f_hi;
      acc[nb][3] *= f_hi;
    }
  }

  // Second term, key tile by key tile.
  const float* cb = a.cb + ((c * a.p.ngroups + g) * Q + mt * kTile) * static_cast<int64_t>(Q);
  for (int jt = 0; jt <= mt; ++jt) {
    __syncthreads();  // the previous tile's s_x, s_cb, s_colf are no longer read
    const int j0 = jt * kTile;
    const bool diag = jt == mt;
    for (int q = tid; q < kTile * (kP / 8); q += 128) {
      const int r = q / (kP / 8), col = (q % (kP / 8)) * 8;
      const int64_t row = chunk0 + j0 + r;
      uint4 v = make_uint4(0, 0, 0, 0);
      if (row < L) {
        v = *reinterpret_cast<const uint4*>(x + row * a.p.x_token_stride +
                                            static_cast<int64_t>(h) * kP + col);
      }
      *reinterpret_cast<uint4*>(s_x + r * kLdX + col) = v;
    }
    for (int q = tid; q < kTile * (kTile / 4); q += 128) {
      const int r = q / (kTile / 4), col = (q % (kTile / 4)) * 4;
      *reinterpret_cast<float4*>(s_cb + r * kLdCb + col) =
          *reinterpret_cast<const float4*>(cb + static_cast<int64_t>(r) * Q + j0 + col);
    }
    const float cs_ref = s_cs[j0 + kTile - 1];
    if (!diag) {
      for (int j = tid; j < kTile; j += 128)
        s_colf[j] = __expf(cs_ref - s_cs[j0 + j]) * s_dt[j0 + j];
    }
    __syncthreads();

    const float rf_lo = diag ? 0.0f : __expf(s_cs[i_lo] - cs_ref);
    const float rf_hi = diag ? 0.0f : __expf(s_cs[i_hi] - cs_ref);
    const float* cb_lo = s_cb + (warp * 16 + gr) * kLdCb;
    const float* cb_hi = cb_lo + 8 * kLdCb;
#pragma unroll
    for (int ks = 0; ks < kTile / 16; ++ks) {
      // Columns (in the tile) of my A-fragment elements: 2t, 2t+1 and 2t+8, 2t+9 of this k step.
      const int jc = ks * 16 + 2 * t;
      const float2 c00 = *reinterpret_cast<const float2*>(cb_lo + jc);
      const float2 c01 = *reinterpret_cast<const float2*>(cb_lo + jc + 8);
      const float2 c10 = *reinterpret_cast<const float2*>(cb_hi + jc);
      const float2 c11 = *reinterpret_cast<const float2*>(cb_hi + jc + 8);
      float w[8];  // (lo, jc), (lo, jc+1), (hi, jc), (hi, jc+1), (lo, jc+8), (lo, jc+9), (hi, ...)
      if (!diag) {
        const float q0 = s_colf[jc], q1 = s_colf[jc + 1], q8 = s_colf[jc + 8], q9 = s_colf[jc + 9];
        w[0] = c00.x * rf_lo * q0;
        w[1] = c00.y * rf_lo * q1;
        w[2] = c10.x * rf_hi * q0;
        w[3] = c10.y * rf_hi * q1;
        w[4] = c01.x * rf_lo * q8;
        w[5] = c01.y * rf_lo * q9;
        w[6] = c11.x * rf_hi * q8;
        w[7] = c11.y * rf_hi * q9;
      } else {
        const float cb_v[8] = {c00.x, c00.y, c10.x, c10.y, c01.x, c01.y, c11.x, c11.y};
#pragma unroll
        for (int e = 0; e < 8; ++e) {
          const int i = (e & 2) ? i_hi : i_lo;
          const int j = j0 + jc + (e & 1) + ((e & 4) ? 8 : 0);
          w[e] = j <= i ? cb_v[e] * __expf(s_cs[i] - s_cs[j]) * s_dt[j] : 0.0f;
        }
      }
      const uint32_t af[4] = {mma::pack_bf16x2(w[0], w[1]), mma::pack_bf16x2(w[2], w[3]),
                              mma::pack_bf16x2(w[4], w[5]), mma::pack_bf16x2(w[6], w[7])};
#pragma unroll
      for (int nb = 0; nb < kNbO; nb += 2) {
        uint32_t b0[2], b1[2];
        if constexpr (kLdsm) {
          mma::ldsm_b_kn_x2(b0, b1, s_x, kLdX, nb * 8, ks * 16, lane);
        } else {
          mma::load_b_kn(b0, s_x, kLdX, nb * 8, ks * 16, lane);
          mma::load_b_kn(b1, s_x, kLdX, nb * 8 + 8, ks * 16, lane);
        }
        mma::mma_bf16_16816(acc[nb], af, b0);
        mma::mma_bf16_16816(acc[nb + 1], af, b1);
      }
    }
  }

  // Epilogue: + D·x, bf16 out.
  const float dskip = a.p.D != nullptr ? a.p.D[h] : 0.0f;
  auto* y = static_cast<__nv_bfloat16*>(a.p.y);
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int64_t row = chunk0 + (half ? i_hi : i_lo);
    if (row >= L) continue;
    const __nv_bfloat16* xr = x + row * a.p.x_token_stride + static_cast<int64_t>(h) * kP + 2 * t;
    __nv_bfloat16* yr = y + row * a.p.y_token_stride + static_cast<int64_t>(h) * kP + 2 * t;
#pragma unroll
    for (int nb = 0; nb < kNbO; ++nb) {
      const float2 xv = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(xr + nb * 8));
      *reinterpret_cast<uint32_t*>(yr + nb * 8) =
          mma::pack_bf16x2(acc[nb][2 * half] + dskip * xv.x, acc[nb][2 * half + 1] + dskip * xv.y);
    }
  }
}

template <int kP, int kN>
cudaError_t launch(const SsdArgs& a, bool ldmatrix, cudaStream_t stream) {
  constexpr int kSmem = scan_smem_bytes<kP, kN>();
  const dim3 grid(static_cast<unsigned>(a.p.nheads), static_cast<unsigned>(a.p.chunk_size / kTile),
                  static_cast<unsigned>(a.nchunks));
  if (ldmatrix) {
    VAMBA_CUDA_TRY(cudaFuncSetAttribute(ssd_chunk_scan_kernel<kP, kN, true>,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem));
    ssd_chunk_scan_kernel<kP, kN, true><<<grid, 128, kSmem, stream>>>(a);
  } else {
    VAMBA_CUDA_TRY(cudaFuncSetAttribute(ssd_chunk_scan_kernel<kP, kN, false>,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem));
    ssd_chunk_scan_kernel<kP, kN, false><<<grid, 128, kSmem, stream>>>(a);
  }
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_ssd_chunk_scan_per_head(const SsdArgs& a, bool ldmatrix, cudaStream_t stream) {
  if (a.p.headdim == 64 && a.p.dstate == 128) return launch<64, 128>(a, ldmatrix, stream);
  if (a.p.headdim == 32 && a.p.dstate == 16) return launch<32, 16>(a, ldmatrix, stream);
  return cudaErrorInvalidValue;
}

}  // namespace vamba::kernels::ssd_detail
