#include "kernels/gemm/gemv.h"

#include "kernels/common/cuda_check.cuh"
#include "kernels/common/device_query.cuh"
#include "kernels/elementwise/vec.cuh"
#include "kernels/norm/row_reduce.cuh"

namespace vamba::kernels {
namespace {

constexpr int kWarps = 8;   // warps per block
constexpr int kUnroll = 4;  // weight vectors in flight per lane and row (64 B per lane and row)

struct Args {
  const bf16_t* x;
  const bf16_t* w;
  const bf16_t* bias;
  void* y;
  int64_t n, k, ldx, ldw, ldy;
  bool accumulate;
};

// Weights stream through once: an evict-first load keeps them from pushing x (re-read by every
// warp) out of L1.
__device__ __forceinline__ uint4 load_weights(const bf16_t* p) {
  return __ldcs(reinterpret_cast<const uint4*>(p));
}

__device__ __forceinline__ void unpack(const uint4& raw, float (&out)[8]) {
  const bf16_t* e = reinterpret_cast<const bf16_t*>(&raw);
#pragma unroll
  for (int i = 0; i < 8; ++i) out[i] = __bfloat162float(e[i]);
}

// Warp w of block b computes ROWS consecutive output features starting at (b·kWarps + w)·ROWS, for
// all M rows of x. Lanes stride over k in 8-element (16-byte) vectors; each lane issues all
// kUnroll × ROWS weight loads of an iteration before using any (the bytes in flight are what a
// streaming read needs to reach the memory bandwidth), then accumulates M × ROWS fp32 sums,
// reduced across the warp at the end. No block-level barrier, so warps past n simply return.
// ROWS = 2 lets each activation load serve two rows; ROWS = 1 doubles the warp count for short,
// wide weights (the down projection: 3584 rows of 18944) so that every multiprocessor gets work.
template <int M, int ROWS, bool kF32Out>
__global__ void __launch_bounds__(kWarps * 32) gemv_kernel(const Args a) {
  const int lane = threadIdx.x % 32;
  const int64_t row0 = (blockIdx.x * int64_t{kWarps} + threadIdx.x / 32) * ROWS;
  if (row0 >= a.n) return;
  const bf16_t* wr[ROWS];
#pragma unroll
  for (int r = 0; r < ROWS; ++r) {
    // A missing last row recomputes row0 (its result is not stored).
    wr[r] = a.w + (row0 + r < a.n ? row0 + r : row0) * a.ldw;
  }
  const int64_t kvec = a.k / 8;

  float acc[ROWS][M];
#pragma unroll
  for (int r = 0; r < ROWS; ++r) {
#pragma unroll
    for (int m = 0; m < M; ++m) acc[r][m] = 0.0f;
  }

  for (int64_t base = lane; base < kvec; base += 32 * kUnroll) {
    uint4 raw[kUnroll][ROWS];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t v = base + 32 * u;
#pragma unroll
      for (int r = 0; r < ROWS; ++r) raw[u][r] = v < kvec ? load_weights(wr[r] + v * 8) : uint4{};
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t v = base + 32 * u;
      if (v < kvec) {
        float wv[ROWS][8];
#pragma unroll
        for (int r = 0; r < ROWS; ++r) unpack(raw[u][r], wv[r]);
#pragma unroll
        for (int m = 0; m < M; ++m) {
          float xv[8];
          load_bf16<8>(a.x + m * a.ldx + v * 8, xv);
#pragma unroll
          for (int r = 0; r < ROWS; ++r) {
#pragma unroll
            for (int j = 0; j < 8; ++j) acc[r][m] += wv[r][j] * xv[j];
          }
        }
      }
    }
  }

#pragma unroll
  for (int r = 0; r < ROWS; ++r) {
#pragma unroll
    for (int m = 0; m < M; ++m) acc[r][m] = warp_sum(acc[r][m]);
  }
  if (lane != 0) return;
#pragma unroll
  for (int r = 0; r < ROWS; ++r) {
    const int64_t row = row0 + r;
    if (row >= a.n) break;
    const float b = a.bias != nullptr ? __bfloat162float(a.bias[row]) : 0.0f;
#pragma unroll
    for (int m = 0; m < M; ++m) {
      float out = acc[r][m] + b;
      if constexpr (kF32Out) {
        float* y = static_cast<float*>(a.y) + m * a.ldy + row;
        if (a.accumulate) out += *y;
        *y = out;
      } else {
        bf16_t* y = static_cast<bf16_t*>(a.y) + m * a.ldy + row;
        if (a.accumulate) out += __bfloat162float(*y);
        *y = __float2bfloat16_rn(out);
      }
    }
  }
}

template <int ROWS, bool kF32Out>
void launch(int m, const Args& a, cudaStream_t stream) {
  const unsigned blocks = static_cast<unsigned>(ceil_div(a.n, int64_t{kWarps} * ROWS));
  const dim3 block(kWarps * 32);
  switch (m) {
    case 1:
      gemv_kernel<1, ROWS, kF32Out><<<blocks, block, 0, stream>>>(a);
      break;
    case 2:
      gemv_kernel<2, ROWS, kF32Out><<<blocks, block, 0, stream>>>(a);
      break;
    case 3:
      gemv_kernel<3, ROWS, kF32Out><<<blocks, block, 0, stream>>>(a);
      break;
    case 4:
      gemv_kernel<4, ROWS, kF32Out><<<blocks, block, 0, stream>>>(a);
      break;
    case 5:
      gemv_kernel<5, ROWS, kF32Out><<<blocks, block, 0, stream>>>(a);
      break;
    case 6:
      gemv_kernel<6, ROWS, kF32Out><<<blocks, block, 0, stream>>>(a);
      break;
    case 7:
      gemv_kernel<7, ROWS, kF32Out><<<blocks, block, 0, stream>>>(a);
      break;
    default:
      gemv_kernel<8, ROWS, kF32Out><<<blocks, block, 0, stream>>>(a);
      break;
  }
}

// Output features per warp: two (one activation load serves both) unless that leaves fewer than
// about four warps' worth of blocks per multiprocessor, as for the down projection.
int rows_per_warp(int64_t n) {
  const int sms = multiprocessor_count();
  return n / 2 >= int64_t{sms} * kWarps * 4 ? 2 : 1;
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

const char* gemv_can_implement(const GemmParams& p) {
  if (p.m < 1 || p.m > kGemvMaxRows) return "gemv needs 1 <= m <= 8";
  if (p.x == nullptr || p.w == nullptr || p.y == nullptr) return "null x, w or y";
  if (p.n < 1 || p.n > 0x7fffffff || p.k < 1) return "n outside [1, 2^31) or k < 1";
  const int64_t ldx = p.ldx == 0 ? p.k : p.ldx;
  const int64_t ldw = p.ldw == 0 ? p.k : p.ldw;
  const int64_t ldy = p.ldy == 0 ? p.n : p.ldy;
  if (ldx < p.k || ldw < p.k || ldy < p.n) return "row stride smaller than the row";
  if (p.k % 8 != 0 || ldx % 8 != 0 || ldw % 8 != 0) return "gemv needs k, ldx, ldw % 8 == 0";
  if (!aligned16(p.x) || !aligned16(p.w)) return "gemv needs 16-byte aligned x and w";
  if (p.bias != nullptr && p.y_f32) return "bias needs a bf16 output";
  return nullptr;
}

cudaError_t gemv(const GemmParams& p, cudaStream_t stream) {
  if (gemv_can_implement(p) != nullptr) return cudaErrorInvalidValue;
  Args a;
  a.x = static_cast<const bf16_t*>(p.x);
  a.w = static_cast<const bf16_t*>(p.w);
  a.bias = static_cast<const bf16_t*>(p.bias);
  a.y = p.y;
  a.n = p.n;
  a.k = p.k;
  a.ldx = p.ldx == 0 ? p.k : p.ldx;
  a.ldw = p.ldw == 0 ? p.k : p.ldw;
  a.ldy = p.ldy == 0 ? p.n : p.ldy;
  a.accumulate = p.accumulate;
  const int m = static_cast<int>(p.m);
  if (rows_per_warp(p.n) == 2) {
    p.y_f32 ? launch<2, true>(m, a, stream) : launch<2, false>(m, a, stream);
  } else {
    p.y_f32 ? launch<1, true>(m, a, stream) : launch<1, false>(m, a, stream);
  }
  return cudaGetLastError();
}

}  // namespace vamba::kernels
