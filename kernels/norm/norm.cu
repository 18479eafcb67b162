#include "kernels/norm/norm.h"

#include "kernels/common/cuda_check.cuh"
#include "kernels/common/pdl.cuh"
#include "kernels/elementwise/vec.cuh"
#include "kernels/norm/row_reduce.cuh"

namespace vamba::kernels {
namespace {

enum class Kind { kRms, kAddRms, kLayer, kGated };

// One argument block for every kind. A kernel row is one normalisation group: with `groups`
// groups per tensor row, kernel row r is tensor row r / groups, columns [(r % groups) · dim, +dim).
struct Args {
  const bf16_t* x;
  int64_t ldx;
  const bf16_t* z;  // kGated
  int64_t ldz;
  bf16_t* res;  // kAddRms
  int64_t ldr;
  const bf16_t* w;
  const bf16_t* b;  // kLayer, optional
  bf16_t* y;
  int64_t ldy;
  int64_t rows;    // kernel rows = tensor rows · groups
  int64_t dim;     // elements per kernel row (the group size)
  int64_t groups;  // groups per tensor row
  int vpt;         // vectors each thread holds (cached kernel: ≤ 32 / V)
  bool norm_before_gate;
  float eps;
};

// expf, not __expf: the norm is memory-bound, and the accurate exp keeps the gate within an ulp of
// the reference.
__device__ __forceinline__ float silu_f(float x) { return x / (1.0f + expf(-x)); }

// The value a norm normalises at columns [c, c + V) of a kernel row: x; for kAddRms the new
// residual round(residual + x), written back on the first visit and re-read on later ones; for
// kGated with the gate before the norm, x · silu(z).
template <Kind K, int V>
__device__ __forceinline__ void load_value(const Args& a, int64_t trow, int64_t col0, int64_t c,
                                           bool first_visit, float (&v)[V]) {
  if constexpr (K == Kind::kAddRms) {
    bf16_t* r = a.res + trow * a.ldr + col0 + c;
    load_bf16<V>(r, v);
    if (first_visit) {
      float xv[V];
      load_bf16<V>(a.x + trow * a.ldx + col0 + c, xv);
#pragma unroll
      for (int j = 0; j < V; ++j) v[j] = round_bf16(v[j] + xv[j]);
      store_bf16<V>(r, v);
    }
  } else {
    load_bf16<V>(a.x + trow * a.ldx + col0 + c, v);
    if constexpr (K == Kind::kGated) {
      if (a.z != nullptr && !a.norm_before_gate) {
        float zv[V];
        load_bf16<V>(a.z + trow * a.ldz + col0 + c, zv);
#pragma unroll
        for (int j = 0; j < V; ++j) v[j] *= silu_f(zv[j]);
      }
    }
  }
}

// y = (v − mean) · scale · w (+ b) (· silu(z) for the gate after the norm), stored at [c, c + V).
template <Kind K, int V>
__device__ __forceinline__ void store_output(const Args& a, int64_t trow, int64_t col0, int64_t c,
                                             const float (&v)[V], float mean, float scale) {
  float wv[V], out[V];
  load_bf16<V>(a.w + col0 + c, wv);
#pragma unroll
  for (int j = 0; j < V; ++j) out[j] = (v[j] - mean) * scale * wv[j];
  if constexpr (K == Kind::kLayer) {
    if (a.b != nullptr) {
      float bv[V];
      load_bf16<V>(a.b + c, bv);
#pragma unroll
      for (int j = 0; j < V; ++j) out[j] += bv[j];
    }
  }
  if constexpr (K == Kind::kGated) {
    if (a.z != nullptr && a.norm_before_gate) {
      float zv[V];
      load_bf16<V>(a.z + trow * a.ldz + col0 + c, zv);
#pragma unroll
      for (int j = 0; j < V; ++j) out[j] *= silu_f(zv[j]);
    }
  }
  store_bf16<V>(a.y + trow * a.ldy + col0 + c, out);
}

// Rows up to kMaxNormDim (kCached): one block row of blockDim.x threads per kernel row; thread t
// holds vectors t, t + blockDim.x, ... in registers, so each element is read once and written once.
// Wider rows (not in the model; kept so no width is refused): the row is visited again from memory
// (L2) for each statistic and for the output. Statistics in fp32 (the reference accumulates in
// double; over these lengths fp32 sums by thread and warp stay ~1e-6 relative, far below bf16).
template <Kind K, int V, bool kCached>
__global__ void __launch_bounds__(512) norm_kernel(const Args a) {
  pdl_launch_dependents();  // the next decode kernel may start its weight loads
  constexpr int kMaxV = kCached ? 32 / V : 1;
  __shared__ float smem[16];
  const int64_t row = blockIdx.x * int64_t{blockDim.y} + threadIdx.y;
  const bool active = row < a.rows;  // no early return: row_sum has barriers
  int64_t trow = row, col0 = 0;
  if (a.groups > 1) {
    trow = row / a.groups;
    col0 = (row % a.groups) * a.dim;
  }
  const int64_t stride = int64_t{blockDim.x} * V;
  const float inv_n = 1.0f / static_cast<float>(a.dim);
  float mean = 0.0f, scale;

  if constexpr (kCached) {
    float v[kMaxV][V];
    float sum = 0.0f;
#pragma unroll
    for (int i = 0; i < kMaxV; ++i) {
      const int64_t c = threadIdx.x * int64_t{V} + i * stride;
      if (i < a.vpt && active && c < a.dim) {
        load_value<K, V>(a, trow, col0, c, true, v[i]);
#pragma unroll
        for (int j = 0; j < V; ++j) sum += K == Kind::kLayer ? v[i][j] : v[i][j] * v[i][j];
      }
    }
    if constexpr (K == Kind::kLayer) {
      mean = row_sum(sum, smem) * inv_n;
      // Centred second pass over the registers: no E[x²] − mean² cancellation.
      float sq = 0.0f;
#pragma unroll
      for (int i = 0; i < kMaxV; ++i) {
        const int64_t c = threadIdx.x * int64_t{V} + i * stride;
        if (i < a.vpt && active && c < a.dim) {
#pragma unroll
          for (int j = 0; j < V; ++j) sq += (v[i][j] - mean) * (v[i][j] - mean);
        }
      }
      scale = rsqrtf(row_sum(sq, smem) * inv_n + a.eps);
    } else {
      scale = rsqrtf(row_sum(sum, smem) * inv_n + a.eps);
    }
    if (!active) return;
#pragma unroll
    for (int i = 0; i < kMaxV; ++i) {
      const int64_t c = threadIdx.x * int64_t{V} + i * stride;
      if (i < a.vpt && c < a.dim) store_output<K, V>(a, trow, col0, c, v[i], mean, scale);
    }
  } else {
    float v[V];
    float sum = 0.0f;
    for (int64_t c = threadIdx.x * int64_t{V}; active && c < a.dim; c += stride) {
      load_value<K, V>(a, trow, col0, c, true, v);
#pragma unroll
      for (int j = 0; j < V; ++j) sum += K == Kind::kLayer ? v[j] : v[j] * v[j];
    }
    if constexpr (K == Kind::kLayer) {
      mean = row_sum(sum, smem) * inv_n;
      float sq = 0.0f;
      for (int64_t c = threadIdx.x * int64_t{V}; active && c < a.dim; c += stride) {
        load_value<K, V>(a, trow, col0, c, false, v);
#pragma unroll
        for (int j = 0; j < V; ++j) sq += (v[j] - mean) * (v[j] - mean);
      }
      scale = rsqrtf(row_sum(sq, smem) * inv_n + a.eps);
    } else {
      scale = rsqrtf(row_sum(sum, smem) * inv_n + a.eps);
    }
    if (!active) return;
    // Each thread revisits exactly the columns it wrote (kAddRms's residual), so it reads its own
    // writes.
    for (int64_t c = threadIdx.x * int64_t{V}; c < a.dim; c += stride) {
      load_value<K, V>(a, trow, col0, c, false, v);
      store_output<K, V>(a, trow, col0, c, v, mean, scale);
    }
  }
}

// Picks the block shape: enough threads per row that each holds about four vectors (memory-level
// parallelism without idling most of a 512-thread block on short rows), then several rows per block
// for short rows so a block still has 256 threads.
template <Kind K>
cudaError_t launch(Args a, int vec, cudaStream_t stream) {
  if (a.rows == 0) return cudaSuccess;
  const int64_t nvec = a.dim / vec;
  int64_t tpr = ceil_div(ceil_div(nvec, 4), 32) * 32;
  tpr = tpr < 32 ? 32 : (tpr > 512 ? 512 : tpr);
  const bool cached = a.dim <= kMaxNormDim;
  a.vpt = static_cast<int>(ceil_div(nvec, tpr));
  const int64_t rpb = tpr >= 256 ? 1 : 256 / tpr;
  const int64_t blocks = ceil_div(a.rows, rpb);
  if (blocks > 0x7fffffff) return cudaErrorInvalidConfiguration;
  const dim3 block(static_cast<unsigned>(tpr), static_cast<unsigned>(rpb));
  const dim3 grid(static_cast<unsigned>(blocks));
  dispatch_vec(vec, [&](auto v) {
    constexpr int V = decltype(v)::value;
    if (cached) {
      norm_kernel<K, V, true><<<grid, block, 0, stream>>>(a);
    } else {
      norm_kernel<K, V, false><<<grid, block, 0, stream>>>(a);
    }
  });
  return cudaGetLastError();
}

const char* check_common(const void* x, const void* w, const void* y, int64_t rows, int64_t dim,
                         float eps) {
  if (rows < 0) return "negative row count";
  if (rows == 0) return nullptr;  // nothing to do: empty tensors may have no storage
  if (x == nullptr || w == nullptr || y == nullptr) return "null x, w or y";
  if (dim < 1) return "dim < 1";
  if (!(eps >= 0.0f)) return "eps must be >= 0";
  return nullptr;
}

int64_t ld_or(int64_t ld, int64_t dim) { return ld == 0 ? dim : ld; }

}  // namespace

const char* can_implement(const RmsNormParams& p) {
  if (const char* e = check_common(p.x, p.w, p.y, p.rows, p.dim, p.eps)) return e;
  if (ld_or(p.ldx, p.dim) < p.dim || ld_or(p.ldy, p.dim) < p.dim) return "row stride < dim";
  return nullptr;
}

const char* can_implement(const AddRmsNormParams& p) {
  if (const char* e = check_common(p.x, p.w, p.y, p.rows, p.dim, p.eps)) return e;
  if (p.rows == 0) return nullptr;
  if (p.residual == nullptr) return "null residual";
  if (ld_or(p.ldx, p.dim) < p.dim || ld_or(p.ldy, p.dim) < p.dim || ld_or(p.ldr, p.dim) < p.dim) {
    return "row stride < dim";
  }
  if (p.y == p.residual) return "y must not alias residual";
  return nullptr;
}

const char* can_implement(const LayerNormParams& p) {
  if (const char* e = check_common(p.x, p.w, p.y, p.rows, p.dim, p.eps)) return e;
  if (ld_or(p.ldx, p.dim) < p.dim || ld_or(p.ldy, p.dim) < p.dim) return "row stride < dim";
  return nullptr;
}

const char* can_implement(const GatedRmsNormParams& p) {
  if (const char* e = check_common(p.x, p.w, p.y, p.rows, p.dim, p.eps)) return e;
  if (p.rows == 0) return nullptr;
  const int64_t g = p.group_size == 0 ? p.dim : p.group_size;
  if (g < 1 || p.dim % g != 0) return "group_size must divide dim";
  if (ld_or(p.ldx, p.dim) < p.dim || ld_or(p.ldy, p.dim) < p.dim ||
      (p.z != nullptr && ld_or(p.ldz, p.dim) < p.dim)) {
    return "row stride < dim";
  }
  return nullptr;
}

cudaError_t rms_norm(const RmsNormParams& p, cudaStream_t stream) {
  if (can_implement(p) != nullptr) return cudaErrorInvalidValue;
  Args a{};
  a.x = static_cast<const bf16_t*>(p.x);
  a.ldx = ld_or(p.ldx, p.dim);
  a.w = static_cast<const bf16_t*>(p.w);
  a.y = static_cast<bf16_t*>(p.y);
  a.ldy = ld_or(p.ldy, p.dim);
  a.rows = p.rows;
  a.dim = p.dim;
  a.groups = 1;
  a.eps = p.eps;
  const int vec = pick_bf16_vec(p.dim, {a.ldx, a.ldy}, {p.x, p.w, p.y});
  return launch<Kind::kRms>(a, vec, stream);
}

cudaError_t add_rms_norm(const AddRmsNormParams& p, cudaStream_t stream) {
  if (can_implement(p) != nullptr) return cudaErrorInvalidValue;
  Args a{};
  a.x = static_cast<const bf16_t*>(p.x);
  a.ldx = ld_or(p.ldx, p.dim);
  a.res = static_cast<bf16_t*>(p.residual);
  a.ldr = ld_or(p.ldr, p.dim);
  a.w = static_cast<const bf16_t*>(p.w);
  a.y = static_cast<bf16_t*>(p.y);
  a.ldy = ld_or(p.ldy, p.dim);
  a.rows = p.rows;
  a.dim = p.dim;
  a.groups = 1;
  a.eps = p.eps;
  const int vec = pick_bf16_vec(p.dim, {a.ldx, a.ldy, a.ldr}, {p.x, p.w, p.y, p.residual});
  return launch<Kind::kAddRms>(a, vec, stream);
}

cudaError_t layer_norm(const LayerNormParams& p, cudaStream_t stream) {
  if (can_implement(p) != nullptr) return cudaErrorInvalidValue;
  Args a{};
  a.x = static_cast<const bf16_t*>(p.x);
  a.ldx = ld_or(p.ldx, p.dim);
  a.w = static_cast<const bf16_t*>(p.w);
  a.b = static_cast<const bf16_t*>(p.b);
  a.y = static_cast<bf16_t*>(p.y);
  a.ldy = ld_or(p.ldy, p.dim);
  a.rows = p.rows;
  a.dim = p.dim;
  a.groups = 1;
  a.eps = p.eps;
  const int vec = pick_bf16_vec(p.dim, {a.ldx, a.ldy}, {p.x, p.w, p.b, p.y});
  return launch<Kind::kLayer>(a, vec, stream);
}

cudaError_t gated_rms_norm(const GatedRmsNormParams& p, cudaStream_t stream) {
  if (can_implement(p) != nullptr) return cudaErrorInvalidValue;
  if (p.rows == 0) return cudaSuccess;
  const int64_t g = p.group_size == 0 ? p.dim : p.group_size;
  Args a{};
  a.x = static_cast<const bf16_t*>(p.x);
  a.ldx = ld_or(p.ldx, p.dim);
  a.z = static_cast<const bf16_t*>(p.z);
  a.ldz = ld_or(p.ldz, p.dim);
  a.w = static_cast<const bf16_t*>(p.w);
  a.y = static_cast<bf16_t*>(p.y);
  a.ldy = ld_or(p.ldy, p.dim);
  a.groups = p.dim / g;
  a.rows = p.rows * a.groups;
  a.dim = g;
  a.norm_before_gate = p.norm_before_gate;
  a.eps = p.eps;
  // Group offsets are multiples of g, so g (not dim) decides the vector width.
  const int vec = pick_bf16_vec(g, {a.ldx, a.ldy, p.z ? a.ldz : 0}, {p.x, p.z, p.w, p.y});
  return launch<Kind::kGated>(a, vec, stream);
}

}  // namespace vamba::kernels
