// Stage 2 of the chunked scan: CB[c][g] = C_c · B_cᵀ, (Q, Q) fp32 per chunk and group. With G = 1
// (Vamba) every head shares it, so it is computed once here instead of once per head in the scan.
// Block: one 64×64 tile (4 warps × 16 rows × 64 columns), K = N in steps of 16; only tiles on or
// below the diagonal are computed, the scan reads no others.
#include "kernels/common/cuda_check.cuh"
#include "kernels/common/warp_mma.cuh"
#include "kernels/ssd/ssd_args.cuh"

namespace vamba::kernels::ssd_detail {
namespace {

constexpr int kTile = 64;

// Loads rows [row0, row0 + 64) of a (L, G, N) bf16 tensor (group g) into s (64 × ld), zero past L.
template <int kN>
__device__ __forceinline__ void load_rows(__nv_bfloat16* s, int ld, const __nv_bfloat16* src,
                                          int64_t stride, int64_t row0, int64_t length, int g,
                                          int tid, int threads) {
  constexpr int kChunks = kN / 8;
  for (int c = tid; c < kTile * kChunks; c += threads) {
    const int r = c / kChunks, col = (c % kChunks) * 8;
    const int64_t row = row0 + r;
    uint4 v = make_uint4(0, 0, 0, 0);
    if (row < length) v = *reinterpret_cast<const uint4*>(src + row * stride + g * kN + col);
    *reinterpret_cast<uint4*>(s + r * ld + col) = v;
  }
}

template <int kN, bool kLdsm>
__global__ void __launch_bounds__(128) ssd_bmm_kernel(const SsdArgs a) {
  constexpr int kLd = padded_ld(kN);
  __shared__ __align__(16) __nv_bfloat16 s_c[kTile * kLd];
  __shared__ __align__(16) __nv_bfloat16 s_b[kTile * kLd];
  const int Q = a.p.chunk_size;
  const int tiles = Q / kTile;
  const int it = blockIdx.x / tiles, jt = blockIdx.x % tiles;
  if (jt > it) return;
  const int g = blockIdx.y;
  const int64_t c = blockIdx.z;
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;

  load_rows<kN>(s_c, kLd, static_cast<const __nv_bfloat16*>(a.p.C), a.p.c_token_stride,
                c * Q + it * kTile, a.p.length, g, tid, 128);
  load_rows<kN>(s_b, kLd, static_cast<const __nv_bfloat16*>(a.p.B), a.p.b_token_stride,
                c * Q + jt * kTile, a.p.length, g, tid, 128);
  __syncthreads();

  float acc[8][4] = {};
#pragma unroll
  for (int ks = 0; ks < kN / 16; ++ks) {
    uint32_t af[4];
    if constexpr (kLdsm) {
      mma::ldsm_a_rowmajor(af, s_c, kLd, warp * 16, ks * 16, lane);
    } else {
      mma::load_a_rowmajor(af, s_c, kLd, warp * 16, ks * 16, lane);
    }
#pragma unroll
    for (int nb = 0; nb < 8; nb += 2) {
      uint32_t b0[2], b1[2];
      if constexpr (kLdsm) {
        mma::ldsm_b_nk_x2(b0, b1, s_b, kLd, nb * 8, ks * 16, lane);
      } else {
        mma::load_b_nk(b0, s_b, kLd, nb * 8, ks * 16, lane);
        mma::load_b_nk(b1, s_b, kLd, nb * 8 + 8, ks * 16, lane);
      }
      mma::mma_bf16_16816(acc[nb], af, b0);
      mma::mma_bf16_16816(acc[nb + 1], af, b1);
    }
  }

  const int gr = lane >> 2, t = lane & 3;
  float* out = a.cb + ((c * a.p.ngroups + g) * Q + it * kTile + warp * 16 + gr) * Q + jt * kTile;
#pragma unroll
  for (int nb = 0; nb < 8; ++nb) {
    *reinterpret_cast<float2*>(out + nb * 8 + 2 * t) = make_float2(acc[nb][0], acc[nb][1]);
    *reinterpret_cast<float2*>(out + 8 * Q + nb * 8 + 2 * t) = make_float2(acc[nb][2], acc[nb][3]);
  }
}

template <int kN>
cudaError_t launch(const SsdArgs& a, bool ldmatrix, cudaStream_t stream) {
  const int tiles = a.p.chunk_size / kTile;
  const dim3 grid(static_cast<unsigned>(tiles * tiles), static_cast<unsigned>(a.p.ngroups),
                  static_cast<unsigned>(a.nchunks));
  if (ldmatrix) {
    ssd_bmm_kernel<kN, true><<<grid, 128, 0, stream>>>(a);
  } else {
    ssd_bmm_kernel<kN, false><<<grid, 128, 0, stream>>>(a);
  }
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_ssd_bmm(const SsdArgs& a, bool ldmatrix, cudaStream_t stream) {
  switch (a.p.dstate) {
    case 16:
      return launch<16>(a, ldmatrix, stream);
    case 128:
      return launch<128>(a, ldmatrix, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

}  // namespace vamba::kernels::ssd_detail
