// Token embedding gather.
#pragma once

#include <cstdint>

namespace vamba::kernels::reference {

// table: (vocab, dim); ids: (n) int64; out: (n, dim). An id outside [0, vocab) yields a zero row
// (callers validate ids first; this keeps a bad id from reading out of bounds). Returns the number
// of such ids.
int64_t embedding(const float* table, int64_t vocab, int64_t dim, const int64_t* ids, int64_t n,
                  float* out);

}  // namespace vamba::kernels::reference
