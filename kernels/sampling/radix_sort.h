// The one device-wide primitive the sort-based selection needs (internal to kernels/sampling): a
// stable descending radix sort of (32-bit key, 32-bit index) pairs. Kept apart from sampling.cu so
// the selection kernels depend only on this declaration (CUB stays in radix_sort.cu).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace vamba::kernels {

// Temporary storage sort_pairs_descending needs for n pairs (host-side query, no device work).
size_t sort_temp_bytes(int64_t n);

// keys_out/idx_out = the pairs sorted by descending key; equal keys keep their input order.
// n < 2^31.
cudaError_t sort_pairs_descending(void* temp, size_t temp_bytes, const uint32_t* keys_in,
                                  uint32_t* keys_out, const int32_t* idx_in, int32_t* idx_out,
                                  int64_t n, cudaStream_t stream);

}  // namespace vamba::kernels
