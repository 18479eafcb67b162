#include "kernels/elementwise/add.h"

#include "kernels/elementwise/ew_launch.cuh"
#include "kernels/elementwise/vec.cuh"

namespace vamba::kernels {
namespace {

template <bool kHasC>
struct AddOp {
  const bf16_t* a;
  const bf16_t* b;
  const bf16_t* c;
  bf16_t* y;
  int64_t lda, ldb, ldc, ldy;  // ldb = 0 broadcasts b's single row
  float alpha_b, alpha_c;
  template <int V>
  __device__ __forceinline__ void apply(int64_t r, int64_t col) const {
    float va[V], vb[V];
    load_bf16<V>(a + r * lda + col, va);
    load_bf16<V>(b + r * ldb + col, vb);
#pragma unroll
    for (int i = 0; i < V; ++i) va[i] += alpha_b * vb[i];
    if constexpr (kHasC) {
      float vc[V];
      load_bf16<V>(c + r * ldc + col, vc);
#pragma unroll
      for (int i = 0; i < V; ++i) va[i] += alpha_c * vc[i];
    }
    store_bf16<V>(y + r * ldy + col, va);
  }
};

int64_t ld_or(int64_t ld, int64_t cols) { return ld == 0 ? cols : ld; }

}  // namespace

const char* can_implement(const AddParams& p) {
  if (p.rows < 0 || p.cols < 0) return "negative size";
  if (p.rows == 0 || p.cols == 0) return nullptr;  // nothing to do
  if (p.a == nullptr || p.b == nullptr || p.y == nullptr) return "null a, b or y";
  if (ld_or(p.lda, p.cols) < p.cols || ld_or(p.ldy, p.cols) < p.cols ||
      (!p.broadcast_b && ld_or(p.ldb, p.cols) < p.cols) ||
      (p.c != nullptr && ld_or(p.ldc, p.cols) < p.cols)) {
    return "row stride < cols";
  }
  return nullptr;
}

cudaError_t add(const AddParams& p, cudaStream_t stream) {
  if (can_implement(p) != nullptr) return cudaErrorInvalidValue;
  int64_t rows = p.rows, cols = p.cols;
  int64_t lda = ld_or(p.lda, cols), ldy = ld_or(p.ldy, cols);
  int64_t ldb = p.broadcast_b ? 0 : ld_or(p.ldb, cols);
  int64_t ldc = p.c != nullptr ? ld_or(p.ldc, cols) : cols;
  // Dense operands without broadcast: one long row.
  if (!p.broadcast_b && lda == cols && ldb == cols && ldc == cols && ldy == cols) {
    cols *= rows;
    rows = cols == 0 ? 0 : 1;
    lda = ldb = ldc = ldy = cols;
  }
  const int vec = pick_bf16_vec(cols, {lda, ldb, ldc, ldy}, {p.a, p.b, p.c, p.y});
  const auto* a = static_cast<const bf16_t*>(p.a);
  const auto* b = static_cast<const bf16_t*>(p.b);
  const auto* c = static_cast<const bf16_t*>(p.c);
  auto* y = static_cast<bf16_t*>(p.y);
  return dispatch_vec(vec, [&](auto v) {
    constexpr int V = decltype(v)::value;
    if (c != nullptr) {
      return detail::launch_elementwise<V>(
          AddOp<true>{a, b, c, y, lda, ldb, ldc, ldy, p.alpha_b, p.alpha_c}, rows, cols, stream);
    }
    return detail::launch_elementwise<V>(
        AddOp<false>{a, b, c, y, lda, ldb, ldc, ldy, p.alpha_b, p.alpha_c}, rows, cols, stream);
  });
}

}  // namespace vamba::kernels
