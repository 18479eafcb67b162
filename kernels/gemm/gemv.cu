#include "kernels/gemm/gemv.h"

#include "kernels/common/cuda_check.cuh"
#include "kernels/elementwise/vec.cuh"
#include "kernels/norm/row_reduce.cuh"

namespace vamba::kernels {
namespace {

constexpr int kWarps = 8;        // warps per block
constexpr int kRowsPerWarp = 2;  // output features per warp: each activation load serves two rows
constexpr int kUnroll = 2;       // weight vectors in flight per lane and row

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
__device__ __forceinline__ void load_weights(const bf16_t* p, float (&out)[8]) {
  const uint4 raw = __ldcs(reinterpret_cast<const uint4*>(p));
  const bf16_t* e = reinterpret_cast<const bf16_t*>(&raw);
#pragma unroll
  for (int i = 0; i < 8; ++i) out[i] = __bfloat162float(e[i]);
}

// Warp w of block b computes output features (b·kWarps + w)·2 and +1 for all M rows of x. Lanes
// stride over k in 8-element (16-byte) vectors; each lane holds M × 2 fp32 partial sums, reduced
// across the warp at the end. No block-level barrier, so warps past n simply return.
template <int M, bool kF32Out>
__global__ void __launch_bounds__(kWarps * 32) gemv_kernel(const Args a) {
  const int lane = threadIdx.x % 32;
  const int64_t row0 = (blockIdx.x * int64_t{kWarps} + threadIdx.x / 32) * kRowsPerWarp;
  if (row0 >= a.n) return;
  const bool second = row0 + 1 < a.n;
  const bf16_t* w0 = a.w + row0 * a.ldw;
  const bf16_t* w1 = second ? w0 + a.ldw : w0;  // a missing second row recomputes the first
  const int64_t kvec = a.k / 8;

  float acc[kRowsPerWarp][M];
#pragma unroll
  for (int m = 0; m < M; ++m) acc[0][m] = acc[1][m] = 0.0f;

  for (int64_t base = lane; base < kvec; base += 32 * kUnroll) {
    float wv[kUnroll][kRowsPerWarp][8];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t v = base + 32 * u;
      if (v < kvec) {
        load_weights(w0 + v * 8, wv[u][0]);
        load_weights(w1 + v * 8, wv[u][1]);
      }
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t v = base + 32 * u;
      if (v < kvec) {
#pragma unroll
        for (int m = 0; m < M; ++m) {
          float xv[8];
          load_bf16<8>(a.x + m * a.ldx + v * 8, xv);
#pragma unroll
          for (int j = 0; j < 8; ++j) {
            acc[0][m] += wv[u][0][j] * xv[j];
            acc[1][m] += wv[u][1][j] * xv[j];
          }
        }
      }
    }
  }

#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
#pragma unroll
    for (int m = 0; m < M; ++m) acc[r][m] = warp_sum(acc[r][m]);
  }
  if (lane != 0) return;
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    if (r == 1 && !second) break;
    const int64_t row = row0 + r;
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

template <bool kF32Out>
void launch(int m, const Args& a, unsigned blocks, cudaStream_t stream) {
  const dim3 block(kWarps * 32);
  switch (m) {
    case 1:
      gemv_kernel<1, kF32Out><<<blocks, block, 0, stream>>>(a);
      break;
    case 2:
      gemv_kernel<2, kF32Out><<<blocks, block, 0, stream>>>(a);
      break;
    case 3:
      gemv_kernel<3, kF32Out><<<blocks, block, 0, stream>>>(a);
      break;
    case 4:
      gemv_kernel<4, kF32Out><<<blocks, block, 0, stream>>>(a);
      break;
    case 5:
      gemv_kernel<5, kF32Out><<<blocks, block, 0, stream>>>(a);
      break;
    case 6:
      gemv_kernel<6, kF32Out><<<blocks, block, 0, stream>>>(a);
      break;
    case 7:
      gemv_kernel<7, kF32Out><<<blocks, block, 0, stream>>>(a);
      break;
    default:
      gemv_kernel<8, kF32Out><<<blocks, block, 0, stream>>>(a);
      break;
  }
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
  const int64_t blocks = ceil_div(p.n, int64_t{kWarps} * kRowsPerWarp);
  if (p.y_f32) {
    launch<true>(static_cast<int>(p.m), a, static_cast<unsigned>(blocks), stream);
  } else {
    launch<false>(static_cast<int>(p.m), a, static_cast<unsigned>(blocks), stream);
  }
  return cudaGetLastError();
}

}  // namespace vamba::kernels
