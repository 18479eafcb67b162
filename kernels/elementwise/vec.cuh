// Vectorised bf16 loads and stores shared by the dense kernels (norm, rope, elementwise, embedding,
// sampling). A kernel is instantiated for a vector width V in {8, 4, 2, 1} bf16 elements: V = 8 is
// one 16-byte access per thread, the widest the memory system serves in one instruction; narrower
// widths are the fallback for rows whose width, stride or base pointer is not a multiple of 16
// bytes.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>
#include <initializer_list>
#include <type_traits>

namespace vamba::kernels {

using bf16_t = __nv_bfloat16;

// V bf16 values that move as one aligned access (2·V bytes).
template <int V>
struct alignas(2 * V) Bf16Vec {
  bf16_t v[V];
};

template <int V>
__device__ __forceinline__ void load_bf16(const bf16_t* __restrict__ p, float (&out)[V]) {
  const Bf16Vec<V> raw = *reinterpret_cast<const Bf16Vec<V>*>(p);
#pragma unroll
  for (int i = 0; i < V; ++i) out[i] = __bfloat162float(raw.v[i]);
}

template <int V>
__device__ __forceinline__ void store_bf16(bf16_t* __restrict__ p, const float (&in)[V]) {
  Bf16Vec<V> raw;
#pragma unroll
  for (int i = 0; i < V; ++i) raw.v[i] = __float2bfloat16_rn(in[i]);
  *reinterpret_cast<Bf16Vec<V>*>(p) = raw;
}

// Rounds through bf16 and back: what storing and re-loading a value would give.
__device__ __forceinline__ float round_bf16(float x) {
  return __bfloat162float(__float2bfloat16_rn(x));
}

// The widest V in {8, 4, 2, 1} such that `width` and every row stride are multiples of V and every
// base pointer is aligned to 2·V bytes. Host side; pointers may be null (ignored).
inline int pick_bf16_vec(int64_t width, std::initializer_list<int64_t> strides,
                         std::initializer_list<const void*> ptrs) {
  for (int v = 8; v > 1; v /= 2) {
    bool ok = width % v == 0;
    for (int64_t s : strides) ok = ok && s % v == 0;
    for (const void* p : ptrs) ok = ok && reinterpret_cast<uintptr_t>(p) % (2 * v) == 0;
    if (ok) return v;
  }
  return 1;
}

// Dispatches `fn` with std::integral_constant<int, V> for a runtime vector width.
template <typename Fn>
__host__ auto dispatch_vec(int v, Fn&& fn) {
  switch (v) {
    case 8:
      return fn(std::integral_constant<int, 8>{});
    case 4:
      return fn(std::integral_constant<int, 4>{});
    case 2:
      return fn(std::integral_constant<int, 2>{});
    default:
      return fn(std::integral_constant<int, 1>{});
  }
}

}  // namespace vamba::kernels
