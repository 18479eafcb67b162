// What the kernel benchmarks share: the ceilings the floors are taken from, a fail-fast CUDA check
// (a benchmark has no one to return a Status to) and a deterministic device-side random fill, so
// buffers hold realistic bit patterns (never zeros, which can time faster than real data).
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {

constexpr double kPeakTflops = 800.0;  // bf16 dense, measured ~798 on the H100 here
constexpr double kPeakGBps = 3000.0;   // device-to-device copy, measured ~3.0 TB/s

#define BENCH_CHECK(expr)                                                                        \
  do {                                                                                           \
    const cudaError_t e_ = (expr);                                                               \
    if (e_ != cudaSuccess) {                                                                     \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #expr, cudaGetErrorString(e_)); \
      std::exit(1);                                                                              \
    }                                                                                            \
  } while (0)

// A hash of the index mapped to [-1, 1).
__device__ __forceinline__ float hash_unit(uint64_t i, uint32_t seed) {
  uint64_t z = i * 0x9e3779b97f4a7c15ull + seed;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<float>(z >> 40) * (1.0f / 16777216.0f) * 2.0f - 1.0f;  // [-1, 1)
}

__global__ void fill_bf16(__nv_bfloat16* p, int64_t n, uint32_t seed, float scale) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    p[i] = __float2bfloat16_rn(hash_unit(i, seed) * scale);
  }
}

}  // namespace
