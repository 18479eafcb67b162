#include "kernels/rope/rope.h"

#include "kernels/common/cuda_check.cuh"
#include "kernels/common/pdl.cuh"
#include "kernels/elementwise/vec.cuh"

namespace vamba::kernels {
namespace {

struct Args {
  bf16_t* x;
  bf16_t* x2;
  const float* cos;
  const float* sin;
  int64_t ldx, ldx2, ld_cs;
  int64_t n;
  int heads, heads2;
  int half;
};

// blockDim.y tokens per block; threadIdx.x walks (head, pair-vector) items of its token: item j
// covers head j / (half / V), elements [i, i + V) and [i + half, i + half + V). Every element is
// read and written once; the cos/sin row is shared by all heads of a token and stays in L1.
template <int V>
__global__ void __launch_bounds__(256) rotary_kernel(const Args a) {
  pdl_launch_dependents();  // the next decode kernel may start its weight loads
  const int per_head = a.half / V;
  const int items = (a.heads + a.heads2) * per_head;
  for (int64_t t = blockIdx.x * int64_t{blockDim.y} + threadIdx.y; t < a.n;
       t += int64_t{gridDim.x} * blockDim.y) {
    const float* cs = a.cos + t * a.ld_cs;
    const float* sn = a.sin + t * a.ld_cs;
    for (int j = threadIdx.x; j < items; j += blockDim.x) {
      int h = j / per_head;
      const int i = (j - h * per_head) * V;
      bf16_t* row;
      if (h < a.heads) {
        row = a.x + t * a.ldx + int64_t{h} * 2 * a.half;
      } else {
        h -= a.heads;
        row = a.x2 + t * a.ldx2 + int64_t{h} * 2 * a.half;
      }
      float lo[V], hi[V];
      load_bf16<V>(row + i, lo);
      load_bf16<V>(row + i + a.half, hi);
#pragma unroll
      for (int k = 0; k < V; ++k) {
        const float c = cs[i + k], s = sn[i + k];
        const float l = lo[k], r = hi[k];
        lo[k] = l * c - r * s;
        hi[k] = r * c + l * s;
      }
      store_bf16<V>(row + i, lo);
      store_bf16<V>(row + i + a.half, hi);
    }
  }
}

}  // namespace

const char* can_implement(const RotaryParams& p) {
  if (p.n < 0) return "negative n";
  if (p.n == 0) return nullptr;  // nothing to do
  if (p.x == nullptr || p.cos == nullptr || p.sin == nullptr) return "null x, cos or sin";
  if (p.head_dim < 2 || p.head_dim % 2 != 0) return "head_dim must be even and >= 2";
  if (p.head_dim > 1024) return "head_dim > 1024";
  if (p.heads < 1 || (p.x2 != nullptr && p.heads2 < 1)) return "heads < 1";
  if (p.heads + p.heads2 > 4096) return "more than 4096 heads";
  const int64_t row = p.heads * p.head_dim, row2 = p.heads2 * p.head_dim;
  if ((p.ldx != 0 && p.ldx < row) || (p.x2 != nullptr && p.ldx2 != 0 && p.ldx2 < row2)) {
    return "token stride smaller than heads * head_dim";
  }
  if (p.ld_cs != 0 && p.ld_cs < p.head_dim / 2) return "table stride < head_dim / 2";
  return nullptr;
}

cudaError_t apply_rotary(const RotaryParams& p, cudaStream_t stream) {
  if (can_implement(p) != nullptr) return cudaErrorInvalidValue;
  if (p.n == 0) return cudaSuccess;
  Args a{};
  a.x = static_cast<bf16_t*>(p.x);
  a.x2 = static_cast<bf16_t*>(p.x2);
  a.heads = static_cast<int>(p.heads);
  a.heads2 = p.x2 != nullptr ? static_cast<int>(p.heads2) : 0;
  a.ldx = p.ldx == 0 ? p.heads * p.head_dim : p.ldx;
  a.ldx2 = p.ldx2 == 0 ? p.heads2 * p.head_dim : p.ldx2;
  a.cos = p.cos;
  a.sin = p.sin;
  a.ld_cs = p.ld_cs == 0 ? p.head_dim / 2 : p.ld_cs;
  a.n = p.n;
  a.half = static_cast<int>(p.head_dim / 2);
  const int vec = pick_bf16_vec(a.half, {a.ldx, a.x2 ? a.ldx2 : 0}, {p.x, p.x2});
  const int64_t items = int64_t{a.heads + a.heads2} * (a.half / vec);
  int64_t bx = ceil_div(items, 32) * 32;
  bx = bx > 256 ? 256 : bx;
  const int64_t by = 256 / bx;
  int64_t blocks = ceil_div(p.n, by);
  blocks = blocks > 65535 * 16 ? 65535 * 16 : blocks;
  dispatch_vec(vec, [&](auto v) {
    rotary_kernel<decltype(v)::value>
        <<<static_cast<unsigned>(blocks),
           dim3(static_cast<unsigned>(bx), static_cast<unsigned>(by)), 0, stream>>>(a);
  });
  return cudaGetLastError();
}

}  // namespace vamba::kernels
