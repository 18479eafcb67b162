#include "kernels/embedding/embedding.h"

#include "kernels/common/cuda_check.cuh"
#include "kernels/common/pdl.cuh"
#include "kernels/elementwise/vec.cuh"

namespace vamba::kernels {
namespace {

// blockDim.y tokens per block, blockDim.x threads across a row; the id is read once per token.
template <int V>
__global__ void __launch_bounds__(256)
    embedding_kernel(const bf16_t* __restrict__ table, const int64_t* __restrict__ ids,
                     bf16_t* __restrict__ out, int64_t vocab, int64_t dim, int64_t n, int64_t ldo,
                     int* bad_id_flag) {
  pdl_launch_dependents();  // the next decode kernel may start its weight loads
  const int64_t nvec = dim / V;
  for (int64_t t = blockIdx.x * int64_t{blockDim.y} + threadIdx.y; t < n;
       t += int64_t{gridDim.x} * blockDim.y) {
    const int64_t id = ids[t];
    const bool ok = id >= 0 && id < vocab;
    if (!ok && threadIdx.x == 0 && bad_id_flag != nullptr) *bad_id_flag = 1;
    const Bf16Vec<V>* src = reinterpret_cast<const Bf16Vec<V>*>(table + (ok ? id : 0) * dim);
    Bf16Vec<V>* dst = reinterpret_cast<Bf16Vec<V>*>(out + t * ldo);
    for (int64_t c = threadIdx.x; c < nvec; c += blockDim.x) {
      Bf16Vec<V> v;
      if (ok) {
        v = src[c];
      } else {
#pragma unroll
        for (int i = 0; i < V; ++i) v.v[i] = __float2bfloat16_rn(0.0f);
      }
      dst[c] = v;
    }
  }
}

}  // namespace

const char* can_implement(const EmbeddingParams& p) {
  if (p.vocab < 0 || p.n < 0) return "negative size";
  if (p.n == 0) return nullptr;  // nothing to do
  if (p.table == nullptr || p.ids == nullptr || p.out == nullptr) return "null table, ids or out";
  if (p.dim < 1) return "dim < 1";
  if ((p.ldo == 0 ? p.dim : p.ldo) < p.dim) return "row stride < dim";
  return nullptr;
}

cudaError_t embedding(const EmbeddingParams& p, cudaStream_t stream) {
  if (can_implement(p) != nullptr) return cudaErrorInvalidValue;
  if (p.n == 0) return cudaSuccess;
  const int64_t ldo = p.ldo == 0 ? p.dim : p.ldo;
  const int vec = pick_bf16_vec(p.dim, {ldo}, {p.table, p.out});
  const int64_t nvec = p.dim / vec;
  int64_t bx = ceil_div(nvec, 32) * 32;
  bx = bx > 256 ? 256 : bx;
  const int64_t by = 256 / bx;
  int64_t blocks = ceil_div(p.n, by);
  blocks = blocks > 65535 * 16 ? 65535 * 16 : blocks;
  const dim3 block(static_cast<unsigned>(bx), static_cast<unsigned>(by));
  dispatch_vec(vec, [&](auto v) {
    embedding_kernel<decltype(v)::value><<<static_cast<unsigned>(blocks), block, 0, stream>>>(
        static_cast<const bf16_t*>(p.table), p.ids, static_cast<bf16_t*>(p.out), p.vocab, p.dim,
        p.n, ldo, p.bad_id_flag);
  });
  return cudaGetLastError();
}

}  // namespace vamba::kernels
