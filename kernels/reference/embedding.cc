#include "kernels/reference/embedding.h"

#include <cstring>

namespace vamba::kernels::reference {

int64_t embedding(const float* table, int64_t vocab, int64_t dim, const int64_t* ids, int64_t n,
                  float* out) {
  int64_t bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    float* row = out + i * dim;
    if (ids[i] < 0 || ids[i] >= vocab) {
      std::memset(row, 0, static_cast<size_t>(dim) * sizeof(float));
      ++bad;
      continue;
    }
    std::memcpy(row, table + ids[i] * dim, static_cast<size_t>(dim) * sizeof(float));
  }
  return bad;
}

}  // namespace vamba::kernels::reference
