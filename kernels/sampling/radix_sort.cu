// Host-only wrapper over CUB's onesweep radix sort (stable: equal keys keep their input order).
#include <cub/device/device_radix_sort.cuh>

#include "kernels/sampling/radix_sort.h"

namespace vamba::kernels {

size_t sort_temp_bytes(int64_t n) {
  size_t bytes = 0;
  cub::DeviceRadixSort::SortPairsDescending(
      nullptr, bytes, static_cast<const uint32_t*>(nullptr), static_cast<uint32_t*>(nullptr),
      static_cast<const int32_t*>(nullptr), static_cast<int32_t*>(nullptr), static_cast<int>(n));
  return bytes;
}

cudaError_t sort_pairs_descending(void* temp, size_t temp_bytes, const uint32_t* keys_in,
                                  uint32_t* keys_out, const int32_t* idx_in, int32_t* idx_out,
                                  int64_t n, cudaStream_t stream) {
  return cub::DeviceRadixSort::SortPairsDescending(temp, temp_bytes, keys_in, keys_out, idx_in,
                                                   idx_out, static_cast<int>(n), 0, 32, stream);
}

}  // namespace vamba::kernels
