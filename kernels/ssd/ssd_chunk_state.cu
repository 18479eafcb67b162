// Stage 3 of the chunked scan: the state each chunk would leave starting from zero,
//   states[c][h][p][n] = Σ_j x[j][h][p] · w_j · B[j][g][n],   w_j = dt_j · exp(cs_last − cs_j),
// a (P × Q) · (Q × N) product per (chunk, head). x is scaled by w_j in fp32 and rounded to bf16 on
// its way into shared memory (as mamba_ssm does), then Xᵀ is read as the A operand and B as the B
// operand, both "transposed" fragment loads from row-major tiles. Keys of the chunk come in tiles
// of 64; warps split the (P, N) output: P/16 warp rows × 4/(P/16) warp columns.
#include "kernels/common/cuda_check.cuh"
#include "kernels/common/warp_mma.cuh"
#include "kernels/ssd/ssd_args.cuh"

namespace vamba::kernels::ssd_detail {
namespace {

constexpr int kTileJ = 64;

template <int kP, int kN, bool kLdsm>
__global__ void __launch_bounds__(128) ssd_chunk_state_kernel(const SsdArgs a) {
  constexpr int kWarpRows = kP / 16;         // warps along P
  constexpr int kWarpCols = 4 / kWarpRows;   // warps along N
  constexpr int kNb = kN / (8 * kWarpCols);  // 8-wide column blocks per warp
  static_assert(kWarpRows * kWarpCols == 4 && kNb >= 1, "unsupported (P, N)");
  constexpr int kLdX = padded_ld(kP), kLdB = padded_ld(kN);
  __shared__ __align__(16) __nv_bfloat16 s_x[kTileJ * kLdX];  // (j, p), scaled by w_j
  __shared__ __align__(16) __nv_bfloat16 s_b[kTileJ * kLdB];  // (j, n)
  __shared__ float s_w[kTileJ];

  const int h = blockIdx.x;
  const int64_t c = blockIdx.y;
  const int g = h / a.heads_per_group;
  const int Q = a.p.chunk_size;
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int wm = warp % kWarpRows, wn = warp / kWarpRows;
  const int64_t L = a.p.length;
  const float* dt = a.dt + static_cast<int64_t>(h) * a.padded_len + c * Q;
  const float* cs = a.dA_cs + static_cast<int64_t>(h) * a.padded_len + c * Q;
  const float cs_last = cs[Q - 1];
  const auto* x = static_cast<const __nv_bfloat16*>(a.p.x);
  const auto* bsrc = static_cast<const __nv_bfloat16*>(a.p.B);

  float acc[kNb][4] = {};
  for (int j0 = 0; j0 < Q; j0 += kTileJ) {
    if (j0 > 0) __syncthreads();  // everyone is done with the previous tile
    for (int j = tid; j < kTileJ; j += 128) s_w[j] = dt[j0 + j] * __expf(cs_last - cs[j0 + j]);
    __syncthreads();
    for (int q = tid; q < kTileJ * (kP / 8); q += 128) {
      const int r = q / (kP / 8), col = (q % (kP / 8)) * 8;
      const int64_t t = c * Q + j0 + r;
      uint4 raw = make_uint4(0, 0, 0, 0);
      if (t < L) {
        raw = *reinterpret_cast<const uint4*>(x + t * a.p.x_token_stride +
                                              static_cast<int64_t>(h) * kP + col);
      }
      const float w = s_w[r];
      __nv_bfloat162* v = reinterpret_cast<__nv_bfloat162*>(&raw);
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const float2 f = __bfloat1622float2(v[e]);
        v[e] = __floats2bfloat162_rn(f.x * w, f.y * w);
      }
      *reinterpret_cast<uint4*>(s_x + r * kLdX + col) = raw;
    }
    for (int q = tid; q < kTileJ * (kN / 8); q += 128) {
      const int r = q / (kN / 8), col = (q % (kN / 8)) * 8;
      const int64_t t = c * Q + j0 + r;
      uint4 raw = make_uint4(0, 0, 0, 0);
      if (t < L) {
        raw = *reinterpret_cast<const uint4*>(bsrc + t * a.p.b_token_stride +
                                              static_cast<int64_t>(g) * kN + col);
      }
      *reinterpret_cast<uint4*>(s_b + r * kLdB + col) = raw;
    }
    __syncthreads();

#pragma unroll
    for (int ks = 0; ks < kTileJ / 16; ++ks) {
      uint32_t af[4];
      if constexpr (kLdsm) {
        mma::ldsm_a_colmajor(af, s_x, kLdX, wm * 16, ks * 16, lane);
      } else {
        mma::load_a_colmajor(af, s_x, kLdX, wm * 16, ks * 16, lane);
      }
#pragma unroll
      for (int nb = 0; nb < kNb; nb += 2) {
        const int n0 = wn * (kN / kWarpCols) + nb * 8;
        if constexpr (kLdsm && kNb % 2 == 0) {
          uint32_t b0[2], b1[2];
          mma::ldsm_b_kn_x2(b0, b1, s_b, kLdB, n0, ks * 16, lane);
          mma::mma_bf16_16816(acc[nb], af, b0);
          mma::mma_bf16_16816(acc[nb + 1], af, b1);
        } else {
          uint32_t b0[2];
          mma::load_b_kn(b0, s_b, kLdB, n0, ks * 16, lane);
          mma::mma_bf16_16816(acc[nb], af, b0);
          if (nb + 1 < kNb) {
            uint32_t b1[2];
            mma::load_b_kn(b1, s_b, kLdB, n0 + 8, ks * 16, lane);
            mma::mma_bf16_16816(acc[nb + 1], af, b1);
          }
        }
      }
    }
  }

  const int gr = lane >> 2, t = lane & 3;
  float* out = a.states + ((c * a.p.nheads + h) * kP + wm * 16 + gr) * kN + wn * (kN / kWarpCols);
#pragma unroll
  for (int nb = 0; nb < kNb; ++nb) {
    *reinterpret_cast<float2*>(out + nb * 8 + 2 * t) = make_float2(acc[nb][0], acc[nb][1]);
    *reinterpret_cast<float2*>(out + 8 * kN + nb * 8 + 2 * t) = make_float2(acc[nb][2], acc[nb][3]);
  }
}

template <int kP, int kN>
cudaError_t launch(const SsdArgs& a, bool ldmatrix, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(a.p.nheads), static_cast<unsigned>(a.nchunks));
  if (ldmatrix) {
    ssd_chunk_state_kernel<kP, kN, true><<<grid, 128, 0, stream>>>(a);
  } else {
    ssd_chunk_state_kernel<kP, kN, false><<<grid, 128, 0, stream>>>(a);
  }
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_ssd_chunk_state(const SsdArgs& a, bool ldmatrix, cudaStream_t stream) {
  if (a.p.headdim == 64 && a.p.dstate == 128) return launch<64, 128>(a, ldmatrix, stream);
  if (a.p.headdim == 32 && a.p.dstate == 16) return launch<32, 16>(a, ldmatrix, stream);
  return cudaErrorInvalidValue;
}

}  // namespace vamba::kernels::ssd_detail
