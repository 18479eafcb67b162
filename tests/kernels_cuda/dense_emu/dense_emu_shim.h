// Device intrinsics the dense kernels use beyond what tests/kernels_cuda/emu/emu.h emulates
// (force-included into the rewritten kernel sources only). Fibers switch only at collectives, so an
// atomic is a plain read-modify-write here.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "tests/kernels_cuda/emu/emu.h"

inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }

inline unsigned int __float_as_uint(float f) {
  unsigned int u;
  std::memcpy(&u, &f, 4);
  return u;
}

inline float __uint_as_float(unsigned int u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// 64-bit shuffles as two 32-bit ones (the emulated shuffles move float bit patterns unchanged).
inline unsigned long long __shfl_xor_sync(unsigned, unsigned long long v, int lane_mask) {
  float h[2];
  std::memcpy(h, &v, 8);
  h[0] = ::emu::shfl_xor(h[0], lane_mask);
  h[1] = ::emu::shfl_xor(h[1], lane_mask);
  std::memcpy(&v, h, 8);
  return v;
}

inline double __shfl_up_sync(unsigned, double v, unsigned delta) {
  float h[2];
  std::memcpy(h, &v, 8);
  h[0] = ::emu::shfl_up(h[0], static_cast<int>(delta));
  h[1] = ::emu::shfl_up(h[1], static_cast<int>(delta));
  std::memcpy(&v, h, 8);
  return v;
}

inline uint4 __ldcs(const uint4* p) { return *p; }

inline int atomicMin(int* p, int v) {
  const int old = *p;
  if (v < old) *p = v;
  return old;
}
