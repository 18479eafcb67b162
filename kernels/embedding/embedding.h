// Token embedding gather: out[i] = table[ids[i]] (bf16 rows copied as 16-byte vectors where the
// row width allows). The CPU twin is kernels/reference/embedding.h.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace vamba::kernels {

struct EmbeddingParams {
  const void* table = nullptr;   // (vocab, dim) bf16, dense rows
  const int64_t* ids = nullptr;  // (n) on the device
  void* out = nullptr;           // (n, dim) bf16, row stride ldo
  int64_t vocab = 0;
  int64_t dim = 0;
  int64_t n = 0;
  int64_t ldo = 0;  // 0 = dim
  // Optional (device): set to 1 when some id lies outside [0, vocab). Such an id yields a zero row;
  // the kernel cannot return an error without a host sync, so callers validate ids on the host or
  // read this flag when they sync anyway.
  int* bad_id_flag = nullptr;
};

// Null pointers (allowed when n == 0), negative sizes, dim < 1, a stride smaller than dim. nullptr
// when it can run.
const char* can_implement(const EmbeddingParams& p);

cudaError_t embedding(const EmbeddingParams& p, cudaStream_t stream);

}  // namespace vamba::kernels
