// What the launch heuristics ask of the device: its multiprocessor count, queried once per device
// (a kernel launch must not pay an attribute query every time).
#pragma once

#include <cuda_runtime.h>

#include <atomic>

namespace vamba::kernels {

// The current device's multiprocessor count; 132 (an H100 SXM) if the query fails. Only split and
// grid heuristics depend on it, never correctness.
inline int multiprocessor_count() {
  constexpr int kFallback = 132;
  constexpr int kMaxDevices = 64;
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess || device < 0 || device >= kMaxDevices)
    return kFallback;
  static std::atomic<int> cache[kMaxDevices] = {};
  int sms = cache[device].load(std::memory_order_relaxed);
  if (sms == 0) {
    if (cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) != cudaSuccess ||
        sms <= 0) {
      sms = kFallback;
    }
    cache[device].store(sms, std::memory_order_relaxed);
  }
  return sms;
}

}  // namespace vamba::kernels
