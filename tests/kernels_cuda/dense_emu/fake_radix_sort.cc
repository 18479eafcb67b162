// The emulation's stand-in for kernels/sampling/radix_sort.cu (CUB has no emulation): a stable
// descending sort on the host, the same contract.
#include <algorithm>
#include <numeric>
#include <vector>

#include "kernels/sampling/radix_sort.h"

namespace vamba::kernels {

size_t sort_temp_bytes(int64_t) { return 256; }

cudaError_t sort_pairs_descending(void*, size_t, const uint32_t* keys_in, uint32_t* keys_out,
                                  const int32_t* idx_in, int32_t* idx_out, int64_t n,
                                  cudaStream_t) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return keys_in[a] > keys_in[b]; });
  for (int64_t i = 0; i < n; ++i) {
    keys_out[i] = keys_in[order[i]];
    idx_out[i] = idx_in[order[i]];
  }
  return cudaSuccess;
}

}  // namespace vamba::kernels
