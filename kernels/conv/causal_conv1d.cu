// Causal depthwise conv1d: memory-bound, so each thread owns kVec neighbouring channels (16-byte
// loads when the layout allows) and walks kRows time steps, keeping the last W − 1 inputs in
// registers; a block re-reads only W − 1 rows of overlap per kRows rows.
#include "kernels/conv/causal_conv1d.h"

#include <cuda_bf16.h>

#include "kernels/common/cuda_check.cuh"

namespace vamba::kernels {
namespace {

constexpr int kThreads = 128;
constexpr int kRows = 64;

template <int kVec>
__device__ __forceinline__ void load_bf16(const __nv_bfloat16* p, float (&v)[kVec]) {
  if constexpr (kVec == 8) {
    const uint4 raw = *reinterpret_cast<const uint4*>(p);
    const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&raw);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float2 f = __bfloat1622float2(h[i]);
      v[2 * i] = f.x;
      v[2 * i + 1] = f.y;
    }
  } else {
#pragma unroll
    for (int i = 0; i < kVec; ++i) v[i] = __bfloat162float(p[i]);
  }
}

template <int kVec>
__device__ __forceinline__ void store_bf16(__nv_bfloat16* p, const float (&v)[kVec]) {
  if constexpr (kVec == 8) {
    uint4 raw;
    __nv_bfloat162* h = reinterpret_cast<__nv_bfloat162*>(&raw);
#pragma unroll
    for (int i = 0; i < 4; ++i) h[i] = __floats2bfloat162_rn(v[2 * i], v[2 * i + 1]);
    *reinterpret_cast<uint4*>(p) = raw;
  } else {
#pragma unroll
    for (int i = 0; i < kVec; ++i) p[i] = __float2bfloat16_rn(v[i]);
  }
}

__device__ __forceinline__ float silu(float x) { return x / (1.0f + __expf(-x)); }

template <int kW, int kVec>
__global__ void __launch_bounds__(kThreads) causal_conv1d_kernel(const CausalConv1dParams p) {
  const int64_t c0 = (static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x) * kVec;
  if (c0 >= p.channels) return;
  const int64_t t0 = static_cast<int64_t>(blockIdx.y) * kRows;
  const int64_t t1 = t0 + kRows < p.length ? t0 + kRows : p.length;
  const int64_t C = p.channels;
  const auto* x = static_cast<const __nv_bfloat16*>(p.x);
  const auto* wgt = static_cast<const __nv_bfloat16*>(p.weight);
  const auto* bias = static_cast<const __nv_bfloat16*>(p.bias);
  auto* y = static_cast<__nv_bfloat16*>(p.y);

  float w[kVec][kW], b[kVec];
#pragma unroll
  for (int i = 0; i < kVec; ++i) {
#pragma unroll
    for (int j = 0; j < kW; ++j) w[i][j] = __bfloat162float(wgt[(c0 + i) * kW + j]);
    b[i] = bias != nullptr ? __bfloat162float(bias[c0 + i]) : 0.0f;
  }
  // win[j] holds input row t − (kW − 1) + j for the step t about to be computed (j < kW − 1).
  float win[kW - 1][kVec];
#pragma unroll
  for (int j = 0; j < kW - 1; ++j) {
    const int64_t row = t0 - (kW - 1) + j;
    if (row >= 0) {
      load_bf16<kVec>(x + row * p.x_row_stride + c0, win[j]);
    } else {
#pragma unroll
      for (int i = 0; i < kVec; ++i) {
        win[j][i] =
            p.initial_state != nullptr ? p.initial_state[(row + kW - 1) * C + c0 + i] : 0.0f;
      }
    }
  }
  for (int64_t t = t0; t < t1; ++t) {
    float cur[kVec], out[kVec];
    load_bf16<kVec>(x + t * p.x_row_stride + c0, cur);
#pragma unroll
    for (int i = 0; i < kVec; ++i) {
      float acc = b[i];
#pragma unroll
      for (int j = 0; j < kW - 1; ++j) acc += w[i][j] * win[j][i];
      acc += w[i][kW - 1] * cur[i];
      out[i] = p.silu ? silu(acc) : acc;
    }
    store_bf16<kVec>(y + t * p.y_row_stride + c0, out);
#pragma unroll
    for (int j = 0; j + 1 < kW - 1; ++j) {
#pragma unroll
      for (int i = 0; i < kVec; ++i) win[j][i] = win[j + 1][i];
    }
#pragma unroll
    for (int i = 0; i < kVec; ++i) win[kW - 2][i] = cur[i];
  }
}

// final_state[r] = x̃[L + r] (r < W − 1). One thread per channel, rows in ascending order: when
// final_state aliases initial_state, row r is written only after rows ≥ L + r > r were read.
__global__ void conv_final_state_kernel(const CausalConv1dParams p) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  if (c >= p.channels) return;
  const int s = p.width - 1;
  const auto* x = static_cast<const __nv_bfloat16*>(p.x);
  for (int r = 0; r < s; ++r) {
    const int64_t row = p.length + r - s;  // index into x; < 0 reads the initial state
    float v;
    if (row >= 0) {
      v = __bfloat162float(x[row * p.x_row_stride + c]);
    } else {
      v = p.initial_state != nullptr ? p.initial_state[(row + s) * p.channels + c] : 0.0f;
    }
    p.final_state[r * p.channels + c] = v;
  }
}

template <int kW>
__global__ void causal_conv1d_update_kernel(const CausalConv1dParams p) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  if (c >= p.channels) return;
  const int64_t C = p.channels;
  const auto* wgt = static_cast<const __nv_bfloat16*>(p.weight) + c * kW;
  const auto* bias = static_cast<const __nv_bfloat16*>(p.bias);
  float* state = p.final_state;
  const float xc = __bfloat162float(static_cast<const __nv_bfloat16*>(p.x)[c]);
  float acc = bias != nullptr ? __bfloat162float(bias[c]) : 0.0f;
  float prev[kW - 1];
#pragma unroll
  for (int j = 0; j < kW - 1; ++j) {
    prev[j] = state[j * C + c];
    acc += __bfloat162float(wgt[j]) * prev[j];
  }
  acc += __bfloat162float(wgt[kW - 1]) * xc;
  static_cast<__nv_bfloat16*>(p.y)[c] = __float2bfloat16_rn(p.silu ? silu(acc) : acc);
#pragma unroll
  for (int j = 0; j + 1 < kW - 1; ++j) state[j * C + c] = prev[j + 1];
  state[(kW - 2) * C + c] = xc;
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

template <int kW>
cudaError_t launch_conv(const CausalConv1dParams& p, cudaStream_t stream) {
  const bool vec = p.channels % 8 == 0 && p.x_row_stride % 8 == 0 && p.y_row_stride % 8 == 0 &&
                   aligned16(p.x) && aligned16(p.y);
  const int vec_width = vec ? 8 : 1;
  const int64_t threads = (p.channels + vec_width - 1) / vec_width;
  const dim3 grid(static_cast<unsigned>((threads + kThreads - 1) / kThreads),
                  static_cast<unsigned>((p.length + kRows - 1) / kRows));
  if (vec) {
    causal_conv1d_kernel<kW, 8><<<grid, kThreads, 0, stream>>>(p);
  } else {
    causal_conv1d_kernel<kW, 1><<<grid, kThreads, 0, stream>>>(p);
  }
  return cudaGetLastError();
}

}  // namespace

const char* causal_conv1d_can_implement(const CausalConv1dParams& p) {
  if (p.width < 2 || p.width > 4) return "causal_conv1d: width must be 2, 3 or 4";
  if (p.length < 0 || p.channels < 0) return "causal_conv1d: negative size";
  if (p.length > 0 && (!p.x || !p.y || !p.weight)) return "causal_conv1d: null tensor pointer";
  if (p.x_row_stride < p.channels || p.y_row_stride < p.channels) {
    return "causal_conv1d: row strides must cover the channels";
  }
  if (p.length > int64_t{65535} * kRows) return "causal_conv1d: sequence too long for one call";
  return nullptr;
}

cudaError_t causal_conv1d(const CausalConv1dParams& p, cudaStream_t stream) {
  if (causal_conv1d_can_implement(p) != nullptr) return cudaErrorInvalidValue;
  if (p.channels == 0) return cudaSuccess;
  if (p.length > 0) {
    switch (p.width) {
      case 2:
        VAMBA_CUDA_TRY(launch_conv<2>(p, stream));
        break;
      case 3:
        VAMBA_CUDA_TRY(launch_conv<3>(p, stream));
        break;
      case 4:
        VAMBA_CUDA_TRY(launch_conv<4>(p, stream));
        break;
      default:
        return cudaErrorInvalidValue;
    }
  }
  // After the conv, which may read initial_state, so that final_state may alias it.
  if (p.final_state != nullptr && p.length > 0) {
    conv_final_state_kernel<<<static_cast<unsigned>((p.channels + kThreads - 1) / kThreads),
                              kThreads, 0, stream>>>(p);
    VAMBA_CUDA_LAUNCH_CHECK();
  } else if (p.final_state != nullptr && p.final_state != p.initial_state) {
    // L = 0: the state passes through unchanged.
    if (p.initial_state != nullptr) {
      VAMBA_CUDA_TRY(cudaMemcpyAsync(p.final_state, p.initial_state,
                                     sizeof(float) * (p.width - 1) * p.channels,
                                     cudaMemcpyDeviceToDevice, stream));
    } else {
      VAMBA_CUDA_TRY(
          cudaMemsetAsync(p.final_state, 0, sizeof(float) * (p.width - 1) * p.channels, stream));
    }
  }
  return cudaSuccess;
}

cudaError_t causal_conv1d_update(const CausalConv1dParams& p, cudaStream_t stream) {
  if (causal_conv1d_can_implement(p) != nullptr || p.length != 1 || p.final_state == nullptr ||
      p.initial_state != p.final_state) {
    return cudaErrorInvalidValue;
  }
  if (p.channels == 0) return cudaSuccess;
  const unsigned blocks = static_cast<unsigned>((p.channels + kThreads - 1) / kThreads);
  switch (p.width) {
    case 2:
      causal_conv1d_update_kernel<2><<<blocks, kThreads, 0, stream>>>(p);
      break;
    case 3:
      causal_conv1d_update_kernel<3><<<blocks, kThreads, 0, stream>>>(p);
      break;
    case 4:
      causal_conv1d_update_kernel<4><<<blocks, kThreads, 0, stream>>>(p);
      break;
    default:
      return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

}  // namespace vamba::kernels
