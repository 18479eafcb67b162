// gemv_mma: few-row products on tensor cores (see gemv_mma.h for the fragment layout).
//
// Block: kWarps warps over the same 16 weight rows (and, for SwiGLU, the same 16 rows of the up
// weight), each warp a contiguous range of 32-wide k chunks. Per chunk a lane issues two 16-byte
// evict-first weight loads per weight (rows g and g+8) and one 16-byte x load per 8 rows of x;
// kU chunks of weight loads are in flight before the first mma of the batch uses them. The warps'
// 16 × 8·NT fp32 tiles meet in shared memory, and warp 0 applies bias / SwiGLU / accumulation and
// stores each value into its output segment.
#include "kernels/gemm/gemv_mma.h"

#include <cuda_bf16.h>

#include "kernels/common/cuda_check.cuh"
#include "kernels/common/device_query.cuh"
#include "kernels/common/pdl_launch.cuh"
#include "kernels/common/warp_mma.cuh"

namespace vamba::kernels {
namespace {

using bf16 = __nv_bfloat16;

constexpr int kRowsPerBlock = 16;  // one m16 tile of weight rows
constexpr int kChunk = 32;         // k per chunk: 4 lanes × 8 elements

// What the kernel computes from its one or two weights (see gemv_mma.h).
enum class MmaMode { kProduct, kSwiGlu, kPairBlend };

struct MmaArgs {
  const bf16* x;
  const bf16* x2;  // kPairBlend: the second weight's input
  const bf16* w;
  const bf16* w2;  // kSwiGlu: the up weight; kPairBlend: the second weight
  const bf16* bias;
  void* y[kGemvMmaMaxOutputs];
  int64_t ldy[kGemvMmaMaxOutputs];
  int64_t seg_end[kGemvMmaMaxOutputs];  // cumulative weight rows; the last is n
  int num_outputs;
  int64_t m, n, k, ldx, ldx2, ldw;
  float alpha, alpha2;
  bool accumulate;
};

__device__ __forceinline__ uint4 load_weights(const bf16* p) {
  return __ldcs(reinterpret_cast<const uint4*>(p));
}

__device__ __forceinline__ float silu(float v) { return v / (1.0f + __expf(-v)); }

// NT: n8 tiles of x rows (m ≤ 8·NT).
template <int NT, MmaMode kMode, int kWarps, bool kF32Out>
__global__ void __launch_bounds__(kWarps * 32) gemv_mma_kernel(const MmaArgs a) {
  constexpr int kMats = kMode == MmaMode::kProduct ? 1 : 2;
  constexpr int kXs = kMode == MmaMode::kPairBlend ? 2 : 1;  // inputs: one per weight for the pair
  constexpr int kU = 4 / kMats;  // chunks in flight: 8 weight vectors (32 registers) per lane
  constexpr int kVals = kMats * NT * 4;
  __shared__ float red[kWarps * kVals * 32];

  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int64_t row_base = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock;
  const int64_t chunks = (a.k + kChunk - 1) / kChunk;
  const int64_t c_begin = chunks * warp / kWarps, c_end = chunks * (warp + 1) / kWarps;

  // Rows past n read the last row again (their sums are never stored).
  const bf16* wrow[kMats][2];
#pragma unroll
  for (int mat = 0; mat < kMats; ++mat) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      int64_t r = row_base + g + 8 * h;
      if (r >= a.n) r = a.n - 1;
      wrow[mat][h] = (mat == 0 ? a.w : a.w2) + r * a.ldw + 8 * t;
    }
  }
  uint4 wv[kU][kMats][2];
  auto load_w = [&](int64_t c0) {
#pragma unroll
    for (int u = 0; u < kU; ++u) {
      const int64_t c = c0 + u;
      const bool valid = c < c_end && c * kChunk + 8 * t < a.k;
#pragma unroll
      for (int mat = 0; mat < kMats; ++mat) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          wv[u][mat][h] = valid ? load_weights(wrow[mat][h] + c * kChunk) : make_uint4(0, 0, 0, 0);
        }
      }
    }
  };

  // The weights are never written by a kernel of the stream: the first batch of them is requested
  // before waiting for the kernel that produces x.
  pdl_launch_dependents();
  if (c_begin < c_end) load_w(c_begin);
  pdl_wait();

  const bf16* xrow[kXs][NT];
  bool x_ok[NT];
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
    const int64_t xr = nt * 8 + g;
    x_ok[nt] = xr < a.m;
#pragma unroll
    for (int xi = 0; xi < kXs; ++xi) {
      xrow[xi][nt] =
          (xi == 0 ? a.x + (x_ok[nt] ? xr : 0) * a.ldx : a.x2 + (x_ok[nt] ? xr : 0) * a.ldx2) +
          8 * t;
    }
  }

  float acc[kMats][NT][4];
#pragma unroll
  for (int mat = 0; mat < kMats; ++mat) {
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
      acc[mat][nt][0] = acc[mat][nt][1] = acc[mat][nt][2] = acc[mat][nt][3] = 0.0f;
  }

  for (int64_t c0 = c_begin; c0 < c_end; c0 += kU) {
#pragma unroll
    for (int u = 0; u < kU; ++u) {
      const int64_t c = c0 + u;
      const bool valid = c < c_end && c * kChunk + 8 * t < a.k;
      uint4 xv[kXs][NT];
#pragma unroll
      for (int xi = 0; xi < kXs; ++xi) {
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) {
          xv[xi][nt] = valid && x_ok[nt]
                           ? *reinterpret_cast<const uint4*>(xrow[xi][nt] + c * kChunk)
                           : make_uint4(0, 0, 0, 0);
        }
      }
      // The lane's 8 consecutive k of each row feed two k16 steps: elements 0–3 take this lane's
      // slots (2t, 2t+1, 2t+8, 2t+9) of the first step, elements 4–7 those of the second; x's
      // elements go to the same slots of B, so every product pairs equal k.
#pragma unroll
      for (int mat = 0; mat < kMats; ++mat) {
        const uint4& lo = wv[u][mat][0];
        const uint4& hi = wv[u][mat][1];
        const uint32_t a0[4] = {lo.x, hi.x, lo.y, hi.y};
        const uint32_t a1[4] = {lo.z, hi.z, lo.w, hi.w};
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) {
          const uint4& xq = xv[kXs == 2 ? mat : 0][nt];
          const uint32_t b0[2] = {xq.x, xq.y};
          const uint32_t b1[2] = {xq.z, xq.w};
          mma::mma_bf16_16816(acc[mat][nt], a0, b0);
          mma::mma_bf16_16816(acc[mat][nt], a1, b1);
        }
      }
    }
    if (c0 + kU < c_end) load_w(c0 + kU);
  }

  // The warps' partial tiles, laid out [warp][value][lane] (conflict-free), summed by warp 0.
#pragma unroll
  for (int mat = 0; mat < kMats; ++mat) {
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
#pragma unroll
      for (int i = 0; i < 4; ++i)
        red[(warp * kVals + (mat * NT + nt) * 4 + i) * 32 + lane] = acc[mat][nt][i];
    }
  }
  __syncthreads();
  if (warp != 0) return;
#pragma unroll
  for (int mat = 0; mat < kMats; ++mat) {
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        float s = 0.0f;
        for (int w = 0; w < kWarps; ++w)
          s += red[(w * kVals + (mat * NT + nt) * 4 + i) * 32 + lane];
        acc[mat][nt][i] = s;
      }
    }
  }

  // C fragment: value i of tile nt is weight row g (+8 for i ≥ 2), x row nt·8 + 2t + (i & 1).
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int64_t row = row_base + g + (i >= 2 ? 8 : 0);
      const int64_t col = nt * 8 + 2 * t + (i & 1);
      if (row >= a.n || col >= a.m) continue;
      float v;
      if constexpr (kMode == MmaMode::kSwiGlu) {
        v = silu(acc[0][nt][i]) * acc[1][nt][i];
      } else if constexpr (kMode == MmaMode::kPairBlend) {
        v = a.alpha * acc[0][nt][i] + a.alpha2 * acc[1][nt][i];  // added to y below
      } else {
        v = acc[0][nt][i] + (a.bias != nullptr ? __bfloat162float(a.bias[row]) : 0.0f);
      }
      int seg = 0;
      int64_t seg_row = row;
      while (seg + 1 < a.num_outputs && row >= a.seg_end[seg]) {
        seg_row = row - a.seg_end[seg];
        ++seg;
      }
      const int64_t at = col * a.ldy[seg] + seg_row;
      if constexpr (kF32Out) {
        float* y = static_cast<float*>(a.y[seg]) + at;
        *y = a.accumulate ? v + *y : v;
      } else {
        bf16* y = static_cast<bf16*>(a.y[seg]) + at;
        *y = __float2bfloat16_rn(a.accumulate ? v + __bfloat162float(*y) : v);
      }
    }
  }
}

template <int NT, MmaMode kMode, int kWarps, bool kF32Out>
cudaError_t launch(const MmaArgs& a, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(ceil_div(a.n, kRowsPerBlock)));
  return launch_dependent(gemv_mma_kernel<NT, kMode, kWarps, kF32Out>, grid, dim3(kWarps * 32), 0,
                          stream, a);
}

template <int NT, MmaMode kMode, bool kF32Out>
cudaError_t launch_warps(int warps, const MmaArgs& a, cudaStream_t stream) {
  switch (warps) {
    case 4:
      return launch<NT, kMode, 4, kF32Out>(a, stream);
    case 8:
      return launch<NT, kMode, 8, kF32Out>(a, stream);
    default:
      return launch<NT, kMode, 16, kF32Out>(a, stream);
  }
}

template <int NT>
cudaError_t launch_kind(int warps, MmaMode mode, bool f32, const MmaArgs& a, cudaStream_t stream) {
  if (mode == MmaMode::kSwiGlu) return launch_warps<NT, MmaMode::kSwiGlu, false>(warps, a, stream);
  if (mode == MmaMode::kPairBlend) {
    return launch_warps<NT, MmaMode::kPairBlend, false>(warps, a, stream);
  }
  return f32 ? launch_warps<NT, MmaMode::kProduct, true>(warps, a, stream)
             : launch_warps<NT, MmaMode::kProduct, false>(warps, a, stream);
}

// Split k across more warps when there are few 16-row tiles, so that every multiprocessor still
// gets enough loads in flight (bench/kernels/README.md has the sweep).
int warps_for(int64_t n) {
  const int64_t tiles = ceil_div(n, kRowsPerBlock);
  if (tiles <= multiprocessor_count()) return 16;
  if (tiles <= 4 * int64_t{multiprocessor_count()}) return 8;
  return 4;
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

const char* gemv_mma_can_implement(const GemvMmaParams& p) {
  if (p.m < 1 || p.m > kGemvMmaMaxRows) return "gemv_mma needs 1 <= m <= 16";
  if (p.x == nullptr || p.w == nullptr) return "null x or w";
  if (p.n < 1 || p.n > 0x7fffffff || p.k < 1) return "n outside [1, 2^31) or k < 1";
  const int64_t ldx = p.ldx == 0 ? p.k : p.ldx;
  const int64_t ldw = p.ldw == 0 ? p.k : p.ldw;
  if (ldx < p.k || ldw < p.k) return "row stride smaller than the row";
  if (p.k % 8 != 0 || ldx % 8 != 0 || ldw % 8 != 0) return "gemv_mma needs k, ldx, ldw % 8 == 0";
  if (!aligned16(p.x) || !aligned16(p.w) || (p.w_up != nullptr && !aligned16(p.w_up))) {
    return "gemv_mma needs 16-byte aligned x and weights";
  }
  if (p.num_outputs < 1 || p.num_outputs > kGemvMmaMaxOutputs) return "1 to 3 output segments";
  int64_t rows = 0;
  for (int s = 0; s < p.num_outputs; ++s) {
    const GemvMmaOutput& o = p.out[s];
    if (o.y == nullptr || o.rows < 1) return "an output segment is null or empty";
    if (o.ldy != 0 && o.ldy < o.rows) return "output row stride smaller than the segment";
    rows += o.rows;
  }
  if (rows != p.n) return "output segments must cover the n weight rows";
  if (p.bias != nullptr && p.y_f32) return "bias needs a bf16 output";
  if (p.w_up != nullptr && (p.bias != nullptr || p.y_f32 || p.accumulate || p.pair_blend)) {
    return "SwiGLU takes no bias, f32 output, accumulation or second input";
  }
  if (p.pair_blend) {
    const int64_t ldx2 = p.ldx2 == 0 ? p.k : p.ldx2;
    if (p.x2 == nullptr || p.w2 == nullptr) return "the residual blend needs x2 and w2";
    if (ldx2 < p.k || ldx2 % 8 != 0 || !aligned16(p.x2) || !aligned16(p.w2)) {
      return "x2 needs a stride of at least k, a multiple of 8, and 16-byte alignment (w2 too)";
    }
    if (p.bias != nullptr || p.y_f32 || p.num_outputs != 1) {
      return "the residual blend takes no bias and writes one bf16 output";
    }
  }
  if (p.accumulate && p.num_outputs != 1) return "accumulation needs a single output";
  if (p.warps != 0 && p.warps != 4 && p.warps != 8 && p.warps != 16) return "warps: 4, 8 or 16";
  return nullptr;
}

cudaError_t gemv_mma(const GemvMmaParams& p, cudaStream_t stream) {
  if (gemv_mma_can_implement(p) != nullptr) return cudaErrorInvalidValue;
  MmaArgs a{};
  a.x = static_cast<const bf16*>(p.x);
  a.w = static_cast<const bf16*>(p.w);
  a.w2 = static_cast<const bf16*>(p.pair_blend ? p.w2 : p.w_up);
  a.x2 = static_cast<const bf16*>(p.x2);
  a.ldx2 = p.ldx2 == 0 ? p.k : p.ldx2;
  a.alpha = p.alpha;
  a.alpha2 = p.alpha2;
  a.bias = static_cast<const bf16*>(p.bias);
  int64_t end = 0;
  for (int s = 0; s < p.num_outputs; ++s) {
    a.y[s] = p.out[s].y;
    a.ldy[s] = p.out[s].ldy == 0 ? p.out[s].rows : p.out[s].ldy;
    end += p.out[s].rows;
    a.seg_end[s] = end;
  }
  a.num_outputs = p.num_outputs;
  a.m = p.m;
  a.n = p.n;
  a.k = p.k;
  a.ldx = p.ldx == 0 ? p.k : p.ldx;
  a.ldw = p.ldw == 0 ? p.k : p.ldw;
  a.accumulate = p.accumulate || p.pair_blend;  // the blend adds to the residual in y
  const int warps = p.warps != 0 ? p.warps : warps_for(p.n);
  const MmaMode mode = p.pair_blend        ? MmaMode::kPairBlend
                       : p.w_up != nullptr ? MmaMode::kSwiGlu
                                           : MmaMode::kProduct;
  const cudaError_t err = p.m <= 8 ? launch_kind<1>(warps, mode, p.y_f32, a, stream)
                                   : launch_kind<2>(warps, mode, p.y_f32, a, stream);
  VAMBA_CUDA_TRY(err);
  return cudaGetLastError();
}

}  // namespace vamba::kernels
