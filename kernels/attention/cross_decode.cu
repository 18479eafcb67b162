// cross_decode_attention: few-row cross attention over very many keys (see cross_decode.h).
//
// Block: 4 warps, kRows = 16·kMT packed query rows (kMT = 1 for ≤ 16 rows, 2 otherwise), one kv
// head, one key split. Each warp owns kStages shared-memory stages of one 16-key tile (K and V) and
// walks every 4th tile of the split on its own: no block barrier inside the key loop, only
// __syncwarp, so the four warps (and the second block of the multiprocessor) keep up to
// 4 · 2 · (kStages − 1) tiles ≈ 100 KB of K/V in flight. Per tile and row tile:
//   S (16×16) = Q·Kᵀ: kD/16 k-steps × 2 mma (Q fragments in registers when kMT = 1)
//   online softmax in the log2 domain, rows reduced across the 4 lanes that share them
//   O (16×kD) += P·V: kD/8 mma, P straight from S's accumulators.
// fp8: the tile's codes land in shared memory (half the bytes), each lane converts 16-byte pieces
// to bf16 (exact: every e4m3 value is a bf16 value) into a per-warp bf16 tile, and the block
// scales multiply the scores (keys) and the weights fed to P·V (values). Splits start on multiples
// of 64 keys, so a 16-key tile never straddles a scale block.
// Shared memory, D = 128: bf16 3 stages 102 KB, fp8 4 stages 98 KB (+ Q): two blocks per SM.
#include "kernels/attention/cross_decode.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>
#include <math_constants.h>

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/attention/flash_args.h"
#include "kernels/common/cuda_check.cuh"
#include "kernels/common/device_query.cuh"
#include "kernels/common/pdl.cuh"
#include "kernels/common/warp_mma.cuh"

namespace vamba::kernels {
namespace {

using bf16 = __nv_bfloat16;

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kTileKeys = 16;                          // keys per warp tile (one m16n8k16 K step)
constexpr int kSplitAlign = 64;                        // split starts: whole fp8 scale blocks
constexpr int64_t kMinKeysPerSplit = 4 * kSplitAlign;  // ≥ 4 tiles per warp
constexpr float kLog2e = 1.4426950408889634f;

struct CrossDecodeArgs {
  const bf16* q;
  void* o;
  const void* k;
  const void* v;
  const float* k_scales;
  const float* v_scales;
  int64_t q_token_stride, q_head_stride;
  int64_t o_token_stride, o_head_stride;
  int64_t k_token_stride, k_head_stride;
  int64_t v_token_stride, v_head_stride;
  int num_kv_heads, group;
  int64_t rows;  // q_len · group
  int64_t kv_len;
  int64_t keys_per_split;  // a multiple of kSplitAlign
  int num_splits;
  float scale_log2;
  float* partial_o;  // num_splits > 1: (split, kv head, row, D) fp32, normalised
  float* partial_lse;
};

template <int kD, int kMT, bool kFp8>
struct CrossDecodeShape {
  static constexpr int kRows = 16 * kMT;
  static constexpr int kLd = kD + 8;  // bf16 rows padded by 16 bytes: conflict-free ldmatrix
  static constexpr int kStages = kFp8 ? 4 : 3;
  static constexpr int kElemBytes = kFp8 ? 1 : 2;
  static constexpr int kStageLd = kFp8 ? kD : kLd;  // elements per staged row
  static constexpr int kChunkElems = 16 / kElemBytes;
  static constexpr int kChunks = kD / kChunkElems;  // 16-byte pieces per key row
  static constexpr int kTileBytes = kTileKeys * kStageLd * kElemBytes;
  static constexpr int kBf16TileBytes = kTileKeys * kLd * 2;
  static constexpr int kWarpBytes = kStages * 2 * kTileBytes + (kFp8 ? 2 * kBf16TileBytes : 0);
  static constexpr int kQBytes = kRows * kLd * 2;
  static constexpr int kMergeBytes = kWarps * kRows * kD * 4;  // the warps' O, after the loop
  static constexpr int kLoopBytes = kWarps * kWarpBytes;
  static constexpr int kBigBytes = kLoopBytes > kMergeBytes ? kLoopBytes : kMergeBytes;
  static constexpr int kStatBytes = (3 * kWarps + 1) * kRows * 4;  // m, l, weight; lse
  static constexpr int kSmemBytes = kQBytes + kBigBytes + kStatBytes;
  static_assert(kD % 16 == 0 && kD % kChunkElems == 0, "head_dim must be a multiple of 16");
  static_assert(kTileKeys * kChunks % 32 == 0 && kTileKeys * kD / 8 % 32 == 0,
                "whole 16-byte pieces per lane");
  static_assert(kQBytes % 16 == 0 && kBigBytes % 16 == 0 && kWarpBytes % 16 == 0, "alignment");
};

// Two e4m3 codes (low byte = lower index) as a bf16 pair, exactly.
__device__ __forceinline__ uint32_t e4m3x2_to_bf16x2(uint32_t codes) {
  const __half2_raw h =
      __nv_cvt_fp8x2_to_halfraw2(static_cast<__nv_fp8x2_storage_t>(codes & 0xffffu), __NV_E4M3);
  const float2 f = __half22float2(__half2(h));
  return mma::pack_bf16x2(f.x, f.y);
}

template <int kD, int kMT, bool kFp8>
__global__ void __launch_bounds__(kThreads, 2) cross_decode_kernel(const CrossDecodeArgs a) {
  pdl_launch_dependents();  // the next decode kernel may start its weight loads
  using Shape = CrossDecodeShape<kD, kMT, kFp8>;
  using KvT = std::conditional_t<kFp8, uint8_t, bf16>;
  constexpr int kRows = Shape::kRows, kLd = Shape::kLd, kStages = Shape::kStages;
  constexpr int kStageLd = Shape::kStageLd, kChunks = Shape::kChunks;
  constexpr int kNbO = kD / 8;
  constexpr bool kQInRegs = kMT == 1;  // 32 registers at D = 128; two row tiles reload from smem
  const float kNegInf = -CUDART_INF_F;

  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* s_q = reinterpret_cast<bf16*>(smem_raw);
  unsigned char* big = smem_raw + Shape::kQBytes;
  float* s_stat = reinterpret_cast<float*>(big + Shape::kBigBytes);

  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
  const int64_t row0 = static_cast<int64_t>(blockIdx.x) * kRows;
  const int split = blockIdx.y;
  const int kvh = blockIdx.z;
  const int group = a.group;

  // The query rows of this block (rows past the end zero-filled), shared by the four warps.
  for (int c = tid; c < kRows * (kD / 8); c += kThreads) {
    const int r = c / (kD / 8), col = (c % (kD / 8)) * 8;
    const int64_t row = row0 + r;
    const bool valid = row < a.rows;
    const bf16* src = a.q;
    if (valid) {
      const int64_t tok = row / group;
      const int head = kvh * group + static_cast<int>(row % group);
      src = a.q + tok * a.q_token_stride + head * a.q_head_stride + col;
    }
    mma::cp_async_16(s_q + r * kLd + col, src, valid);
  }
  mma::cp_async_commit();
  mma::cp_async_wait<0>();
  __syncthreads();

  const int64_t n_begin = static_cast<int64_t>(split) * a.keys_per_split;
  const int64_t n_end =
      n_begin + a.keys_per_split < a.kv_len ? n_begin + a.keys_per_split : a.kv_len;
  const int n_tiles =
      n_end > n_begin ? static_cast<int>((n_end - n_begin + kTileKeys - 1) / kTileKeys) : 0;
  const int my_tiles = n_tiles > warp ? (n_tiles - warp + kWarps - 1) / kWarps : 0;

  const KvT* kbase = static_cast<const KvT*>(a.k) + kvh * a.k_head_stride;
  const KvT* vbase = static_cast<const KvT*>(a.v) + kvh * a.v_head_stride;
  unsigned char* wbase = big + warp * Shape::kWarpBytes;
  auto stage_k = [&](int s) { return reinterpret_cast<KvT*>(wbase + s * 2 * Shape::kTileBytes); };
  auto stage_v = [&](int s) {
    return reinterpret_cast<KvT*>(wbase + (s * 2 + 1) * Shape::kTileBytes);
  };
  auto tile_start = [&](int j) {
    return n_begin + static_cast<int64_t>(warp + kWarps * j) * kTileKeys;
  };
  // Warp-private copies of tile j (keys past the split's end zero-filled: 0 · V meets no garbage).
  auto load_tile = [&](int j) {
    const int s = j % kStages;
    const int64_t n0 = tile_start(j);
    KvT* dk = stage_k(s);
    KvT* dv = stage_v(s);
#pragma unroll
    for (int i = 0; i < kTileKeys * kChunks / 32; ++i) {
      const int c = lane + 32 * i;
      const int r = c / kChunks, col = (c % kChunks) * Shape::kChunkElems;
      const int64_t key = n0 + r;
      const bool valid = key < n_end;
      const KvT* src_k = valid ? kbase + key * a.k_token_stride + col : kbase;
      const KvT* src_v = valid ? vbase + key * a.v_token_stride + col : vbase;
      mma::cp_async_16(dk + r * kStageLd + col, src_k, valid);
      mma::cp_async_16(dv + r * kStageLd + col, src_v, valid);
    }
  };
  // fp8: the scales of tile j's 64-key block, fetched one tile ahead of their use.
  auto scales_of = [&](int j, float* ks, float* vs) {
    if constexpr (kFp8) {
      if (j < my_tiles) {
        const int64_t idx = tile_start(j) / kSplitAlign * a.num_kv_heads + kvh;
        *ks = a.k_scales[idx];
        *vs = a.v_scales[idx];
      }
    }
  };

#pragma unroll
  for (int j = 0; j < kStages - 1; ++j) {
    if (j < my_tiles) load_tile(j);
    mma::cp_async_commit();
  }

  uint32_t qf[kQInRegs ? kD / 16 : 1][4];
  if constexpr (kQInRegs) {
#pragma unroll
    for (int ks = 0; ks < kD / 16; ++ks) mma::ldsm_a_rowmajor(qf[ks], s_q, kLd, 0, ks * 16, lane);
  }

  float acc[kMT][kNbO][4];
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
    for (int nb = 0; nb < kNbO; ++nb)
      acc[mt][nb][0] = acc[mt][nb][1] = acc[mt][nb][2] = acc[mt][nb][3] = 0.0f;
  }
  float m_run[kMT][2], l_run[kMT][2];  // l: this lane's share of the row sums, reduced at the end
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
    m_run[mt][0] = m_run[mt][1] = kNegInf;
    l_run[mt][0] = l_run[mt][1] = 0.0f;
  }
  float k_scale = 1.0f, v_scale = 1.0f, next_k_scale = 1.0f, next_v_scale = 1.0f;
  scales_of(0, &next_k_scale, &next_v_scale);

  for (int j = 0; j < my_tiles; ++j) {
    // Tile j has landed (this lane's copies), and the whole warp sees every lane's copies and is
    // done reading the stage that is refilled next (tile j − 1's).
    mma::cp_async_wait<kStages - 2>();
    __syncwarp();
    if (j + kStages - 1 < my_tiles) load_tile(j + kStages - 1);
    mma::cp_async_commit();
    k_scale = next_k_scale;
    v_scale = next_v_scale;
    scales_of(j + 1, &next_k_scale, &next_v_scale);

    const int s = j % kStages;
    const bf16* sk;
    const bf16* sv;
    if constexpr (kFp8) {
      bf16* ck = reinterpret_cast<bf16*>(wbase + kStages * 2 * Shape::kTileBytes);
      bf16* cv = ck + kTileKeys * kLd;
      const uint8_t* fk = stage_k(s);
      const uint8_t* fv = stage_v(s);
      // 8 codes → 8 bf16 (one 16-byte store) per step.
#pragma unroll
      for (int i = 0; i < kTileKeys * kD / 8 / 32; ++i) {
        const int c = lane + 32 * i;
        const int r = c / (kD / 8), col = (c % (kD / 8)) * 8;
        const uint2 bk = *reinterpret_cast<const uint2*>(fk + r * kD + col);
        const uint2 bv = *reinterpret_cast<const uint2*>(fv + r * kD + col);
        uint4 ok, ov;
        ok.x = e4m3x2_to_bf16x2(bk.x);
        ok.y = e4m3x2_to_bf16x2(bk.x >> 16);
        ok.z = e4m3x2_to_bf16x2(bk.y);
        ok.w = e4m3x2_to_bf16x2(bk.y >> 16);
        ov.x = e4m3x2_to_bf16x2(bv.x);
        ov.y = e4m3x2_to_bf16x2(bv.x >> 16);
        ov.z = e4m3x2_to_bf16x2(bv.y);
        ov.w = e4m3x2_to_bf16x2(bv.y >> 16);
        *reinterpret_cast<uint4*>(ck + r * kLd + col) = ok;
        *reinterpret_cast<uint4*>(cv + r * kLd + col) = ov;
      }
      __syncwarp();
      sk = ck;
      sv = cv;
    } else {
      sk = stage_k(s);
      sv = stage_v(s);
    }

    float sc[kMT][2][4];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
      for (int nb = 0; nb < 2; ++nb)
        sc[mt][nb][0] = sc[mt][nb][1] = sc[mt][nb][2] = sc[mt][nb][3] = 0.0f;
    }
#pragma unroll
    for (int ks = 0; ks < kD / 16; ++ks) {
      uint32_t b0[2], b1[2];
      mma::ldsm_b_nk_x2(b0, b1, sk, kLd, 0, ks * 16, lane);
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) {
        if constexpr (kQInRegs) {
          mma::mma_bf16_16816(sc[mt][0], qf[ks], b0);
          mma::mma_bf16_16816(sc[mt][1], qf[ks], b1);
        } else {
          uint32_t qa[4];
          mma::ldsm_a_rowmajor(qa, s_q, kLd, mt * 16, ks * 16, lane);
          mma::mma_bf16_16816(sc[mt][0], qa, b0);
          mma::mma_bf16_16816(sc[mt][1], qa, b1);
        }
      }
    }

    const int64_t n0 = tile_start(j);
    const bool need_mask = n0 + kTileKeys > n_end;
    const float s_mul = a.scale_log2 * k_scale;
    uint32_t pa[kMT][4];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
      for (int nb = 0; nb < 2; ++nb) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          float x = sc[mt][nb][e] * s_mul;
          if (need_mask && n0 + nb * 8 + 2 * t + (e & 1) >= n_end) x = kNegInf;
          sc[mt][nb][e] = x;
        }
      }
#pragma unroll
      for (int ri = 0; ri < 2; ++ri) {
        float mx = fmaxf(fmaxf(sc[mt][0][2 * ri], sc[mt][0][2 * ri + 1]),
                         fmaxf(sc[mt][1][2 * ri], sc[mt][1][2 * ri + 1]));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        const float m_new = fmaxf(m_run[mt][ri], mx);  // finite: every tile has a valid key
        const float alpha = exp2f(m_run[mt][ri] - m_new);
        m_run[mt][ri] = m_new;
        float sum = 0.0f;
#pragma unroll
        for (int nb = 0; nb < 2; ++nb) {
          const float p0 = exp2f(sc[mt][nb][2 * ri] - m_new);
          const float p1 = exp2f(sc[mt][nb][2 * ri + 1] - m_new);
          sc[mt][nb][2 * ri] = p0 * v_scale;  // the value scale rides on the weights
          sc[mt][nb][2 * ri + 1] = p1 * v_scale;
          sum += p0 + p1;
        }
        l_run[mt][ri] = l_run[mt][ri] * alpha + sum;
#pragma unroll
        for (int nb = 0; nb < kNbO; ++nb) {
          acc[mt][nb][2 * ri] *= alpha;
          acc[mt][nb][2 * ri + 1] *= alpha;
        }
      }
      pa[mt][0] = mma::pack_bf16x2(sc[mt][0][0], sc[mt][0][1]);
      pa[mt][1] = mma::pack_bf16x2(sc[mt][0][2], sc[mt][0][3]);
      pa[mt][2] = mma::pack_bf16x2(sc[mt][1][0], sc[mt][1][1]);
      pa[mt][3] = mma::pack_bf16x2(sc[mt][1][2], sc[mt][1][3]);
    }

#pragma unroll
    for (int nb = 0; nb < kNbO; nb += 2) {
      uint32_t b0[2], b1[2];
      mma::ldsm_b_kn_x2(b0, b1, sv, kLd, nb * 8, 0, lane);
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) {
        mma::mma_bf16_16816(acc[mt][nb], pa[mt], b0);
        mma::mma_bf16_16816(acc[mt][nb + 1], pa[mt], b1);
      }
    }
  }
  mma::cp_async_wait<0>();

#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
    for (int ri = 0; ri < 2; ++ri) {
      l_run[mt][ri] += __shfl_xor_sync(0xffffffffu, l_run[mt][ri], 1);
      l_run[mt][ri] += __shfl_xor_sync(0xffffffffu, l_run[mt][ri], 2);
    }
  }

  // Merge the four warps: their O, max and sum through shared memory (the stages are free now).
  __syncthreads();
  float* s_o = reinterpret_cast<float*>(big);  // (warp, row, D)
  float* s_m = s_stat;                         // (warp, row)
  float* s_l = s_m + kWarps * kRows;
  float* s_w = s_l + kWarps * kRows;  // each warp's weight in the merged row
  float* s_lse = s_w + kWarps * kRows;
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
    for (int ri = 0; ri < 2; ++ri) {
      const int r = mt * 16 + g + 8 * ri;
      float* dst = s_o + (warp * kRows + r) * kD + 2 * t;
#pragma unroll
      for (int nb = 0; nb < kNbO; ++nb) {
        *reinterpret_cast<float2*>(dst + nb * 8) =
            make_float2(acc[mt][nb][2 * ri], acc[mt][nb][2 * ri + 1]);
      }
      if (t == 0) {
        s_m[warp * kRows + r] = m_run[mt][ri];
        s_l[warp * kRows + r] = l_run[mt][ri];
      }
    }
  }
  __syncthreads();
  if (tid < kRows) {
    float mx = kNegInf;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) mx = fmaxf(mx, s_m[w * kRows + tid]);
    float total = 0.0f;
    float wt[kWarps];
#pragma unroll
    for (int w = 0; w < kWarps; ++w) {
      // A warp without keys has m = −inf and l = 0: weight 0 (and no NaN from −inf − −inf).
      wt[w] = s_l[w * kRows + tid] > 0.0f ? exp2f(s_m[w * kRows + tid] - mx) : 0.0f;
      total += wt[w] * s_l[w * kRows + tid];
    }
    const float inv = total > 0.0f ? 1.0f / total : 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) s_w[w * kRows + tid] = wt[w] * inv;
    s_lse[tid] = total > 0.0f ? mx + log2f(total) : kNegInf;
  }
  __syncthreads();

  const int64_t rows_here = a.rows - row0 < kRows ? a.rows - row0 : kRows;
  for (int idx = tid; idx < rows_here * kD; idx += kThreads) {
    const int r = idx / kD, d = idx % kD;
    float val = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) val += s_w[w * kRows + r] * s_o[(w * kRows + r) * kD + d];
    const int64_t row = row0 + r;
    if (a.num_splits == 1) {
      const int64_t tok = row / group;
      const int head = kvh * group + static_cast<int>(row % group);
      static_cast<bf16*>(a.o)[tok * a.o_token_stride + head * a.o_head_stride + d] =
          __float2bfloat16_rn(val);
    } else {
      const int64_t slot = (static_cast<int64_t>(split) * a.num_kv_heads + kvh) * a.rows + row;
      a.partial_o[slot * kD + d] = val;
      if (d == 0) a.partial_lse[slot] = s_lse[r];
    }
  }
}

template <int kD, int kMT, bool kFp8>
cudaError_t launch(const CrossDecodeArgs& a, unsigned row_groups, cudaStream_t stream) {
  constexpr int kSmem = CrossDecodeShape<kD, kMT, kFp8>::kSmemBytes;
  VAMBA_CUDA_TRY(cudaFuncSetAttribute(cross_decode_kernel<kD, kMT, kFp8>,
                                      cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem));
  const dim3 grid(row_groups, static_cast<unsigned>(a.num_splits),
                  static_cast<unsigned>(a.num_kv_heads));
  cross_decode_kernel<kD, kMT, kFp8><<<grid, kThreads, kSmem, stream>>>(a);
  return cudaGetLastError();
}

template <int kD, bool kFp8>
cudaError_t launch_rows(const CrossDecodeArgs& a, cudaStream_t stream) {
  if (a.rows <= 16) return launch<kD, 1, kFp8>(a, 1, stream);
  return launch<kD, 2, kFp8>(a, static_cast<unsigned>((a.rows + 31) / 32), stream);
}

size_t align_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

int64_t rows_of(const CrossDecodeParams& p) { return p.q_len * (p.num_heads / p.num_kv_heads); }

size_t partial_o_bytes(const CrossDecodeParams& p, int splits) {
  return align_up(
      static_cast<size_t>(splits) * p.num_kv_heads * rows_of(p) * p.head_dim * sizeof(float), 256);
}

bool aligned(const void* ptr, uintptr_t bytes) {
  return reinterpret_cast<uintptr_t>(ptr) % bytes == 0;
}

// Splits of whole 64-key blocks, recounted so that none is empty.
int64_t keys_per_split(const CrossDecodeParams& p, int splits) {
  const int64_t blocks = (p.kv_len + kSplitAlign - 1) / kSplitAlign;
  return (blocks + splits - 1) / splits * kSplitAlign;
}

}  // namespace

const char* cross_decode_can_implement(const CrossDecodeParams& p) {
  if (!p.q || !p.k || !p.v || !p.o) return "cross_decode: null tensor pointer";
  if (p.num_heads <= 0 || p.num_kv_heads <= 0 || p.num_heads % p.num_kv_heads != 0) {
    return "cross_decode: num_heads must be a positive multiple of num_kv_heads";
  }
  if (p.num_kv_heads > 65535) return "cross_decode: too many kv heads for the grid";
  if (p.head_dim != 32 && p.head_dim != 128) return "cross_decode: head_dim must be 32 or 128";
  if (p.q_len < 0 || p.kv_len < 0) return "cross_decode: negative length";
  if (rows_of(p) > kCrossDecodeMaxRows) {
    return "cross_decode: q_len × (num_heads / num_kv_heads) exceeds kCrossDecodeMaxRows";
  }
  if (!(p.scale > 0.0f) || !std::isfinite(p.scale)) return "cross_decode: scale must be positive";
  if (p.num_splits < 0) return "cross_decode: negative num_splits";
  const bool fp8 = p.kv_type == CrossDecodeKv::kFp8E4M3;
  if (fp8 && (p.k_scales == nullptr || p.v_scales == nullptr)) {
    return "cross_decode: fp8 keys and values need their scales";
  }
  if (!aligned(p.q, 16) || !aligned(p.k, 16) || !aligned(p.v, 16) || !aligned(p.o, 2)) {
    return "cross_decode: q, k, v must be 16-byte aligned and o 2-byte aligned";
  }
  if (p.q_token_stride % 8 != 0 || p.q_head_stride % 8 != 0) {
    return "cross_decode: q strides must be multiples of 8 elements";
  }
  const int64_t kv_align = fp8 ? 16 : 8;  // elements per 16 bytes
  for (int64_t s : {p.k_token_stride, p.k_head_stride, p.v_token_stride, p.v_head_stride}) {
    if (s % kv_align != 0) return "cross_decode: k, v strides must be multiples of 16 bytes";
  }
  return nullptr;
}

CrossDecodePlan cross_decode_plan(const CrossDecodeParams& p) {
  CrossDecodePlan plan;
  if (p.kv_len <= 0 || p.q_len <= 0) return plan;
  const int64_t blocks64 = (p.kv_len + kSplitAlign - 1) / kSplitAlign;
  int64_t splits = p.num_splits;
  if (splits <= 0) {
    const int64_t row_groups = rows_of(p) <= 16 ? 1 : (rows_of(p) + 31) / 32;
    const int64_t base = row_groups * p.num_kv_heads;
    // One wave at two resident blocks per multiprocessor: every block streams the same number of
    // keys, so a single full wave has no tail.
    const int64_t target = 2 * static_cast<int64_t>(multiprocessor_count());
    splits = (target + base - 1) / base;
    const int64_t max_by_length = (p.kv_len + kMinKeysPerSplit - 1) / kMinKeysPerSplit;
    if (splits > max_by_length) splits = max_by_length;
  }
  if (splits > blocks64) splits = blocks64;
  if (splits > 65535) splits = 65535;
  if (splits < 1) splits = 1;
  const int64_t per = keys_per_split(p, static_cast<int>(splits));
  plan.num_splits = static_cast<int>((p.kv_len + per - 1) / per);
  if (plan.num_splits > 1) {
    plan.workspace_bytes =
        partial_o_bytes(p, plan.num_splits) +
        align_up(static_cast<size_t>(plan.num_splits) * p.num_kv_heads * rows_of(p) * sizeof(float),
                 256);
  }
  return plan;
}

cudaError_t cross_decode_attention(const CrossDecodeParams& p, cudaStream_t stream) {
  if (cross_decode_can_implement(p) != nullptr) return cudaErrorInvalidValue;
  if (p.q_len == 0) return cudaSuccess;
  const CrossDecodePlan plan = cross_decode_plan(p);
  if (plan.workspace_bytes > 0 &&
      (p.workspace == nullptr || p.workspace_bytes < plan.workspace_bytes)) {
    return cudaErrorInvalidValue;
  }
  CrossDecodeArgs a{};
  a.q = static_cast<const bf16*>(p.q);
  a.o = p.o;
  a.k = p.k;
  a.v = p.v;
  a.k_scales = p.k_scales;
  a.v_scales = p.v_scales;
  a.q_token_stride = p.q_token_stride;
  a.q_head_stride = p.q_head_stride;
  a.o_token_stride = p.o_token_stride;
  a.o_head_stride = p.o_head_stride;
  a.k_token_stride = p.k_token_stride;
  a.k_head_stride = p.k_head_stride;
  a.v_token_stride = p.v_token_stride;
  a.v_head_stride = p.v_head_stride;
  a.num_kv_heads = p.num_kv_heads;
  a.group = p.num_heads / p.num_kv_heads;
  a.rows = rows_of(p);
  a.kv_len = p.kv_len;
  a.num_splits = plan.num_splits;
  a.keys_per_split = p.kv_len > 0 ? keys_per_split(p, plan.num_splits) : kSplitAlign;
  a.scale_log2 = p.scale * kLog2e;
  if (plan.num_splits > 1) {
    a.partial_o = static_cast<float*>(p.workspace);
    a.partial_lse = reinterpret_cast<float*>(static_cast<char*>(p.workspace) +
                                             partial_o_bytes(p, plan.num_splits));
  }

  const bool fp8 = p.kv_type == CrossDecodeKv::kFp8E4M3;
  cudaError_t err;
  if (p.head_dim == 128) {
    err = fp8 ? launch_rows<128, true>(a, stream) : launch_rows<128, false>(a, stream);
  } else {
    err = fp8 ? launch_rows<32, true>(a, stream) : launch_rows<32, false>(a, stream);
  }
  VAMBA_CUDA_TRY(err);
  if (plan.num_splits == 1) return cudaSuccess;

  // The splits' merge: the flash kernels' combine reads the same partial layout.
  attention_detail::FlashArgs f{};
  f.o = p.o;
  f.o_token_stride = p.o_token_stride;
  f.o_head_stride = p.o_head_stride;
  f.num_heads = p.num_heads;
  f.num_kv_heads = p.num_kv_heads;
  f.group = a.group;
  f.head_dim = p.head_dim;
  f.q_len = p.q_len;
  f.kv_len = p.kv_len;
  f.num_splits = plan.num_splits;
  f.partial_o = a.partial_o;
  f.partial_lse = a.partial_lse;
  return attention_detail::launch_flash_combine(f, stream);
}

}  // namespace vamba::kernels
