#include "kernels/sampling/sampling.h"

#include <climits>

#include "kernels/common/cuda_check.cuh"
#include "kernels/elementwise/vec.cuh"
#include "kernels/sampling/radix_sort.h"

namespace vamba::kernels {
namespace {

constexpr int kThreads = 1024;
constexpr int64_t kMaxVocab = INT_MAX;

// An unsigned key whose order is the float order: larger key ↔ larger value. -0 and +0 share a key
// (they compare equal, so the tie goes to the lower index as in the reference); NaN gets key 0,
// below every number (-inf is 0x007fffff), so NaN sorts last.
__device__ __forceinline__ uint32_t float_key(float f) {
  if (f != f) return 0u;
  if (f == 0.0f) f = 0.0f;
  const uint32_t u = __float_as_uint(f);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

__device__ __forceinline__ float key_float(uint32_t k) {
  return __uint_as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
}

__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(bf16_t v) { return __bfloat162float(v); }

// ---- argmax: one block per row; max of (key << 32 | ~index) is the largest value at the lowest
// index, with no separate tie rule.
__device__ __forceinline__ unsigned long long pack(float v, int64_t i) {
  return (static_cast<unsigned long long>(float_key(v)) << 32) |
         (0xffffffffull - static_cast<unsigned long long>(i));
}

// kUnroll independent vector loads are issued before any is compared: one block reads a whole row,
// so the row is latency-bound unless each thread keeps several loads in flight (a plain loop waited
// out ~37 dependent round trips: 29 µs for one 152064-wide f32 row on the H100).
template <typename T, int V>
__global__ void __launch_bounds__(kThreads)
    argmax_kernel(const T* __restrict__ logits, int64_t vocab, int64_t ld,
                  int64_t* __restrict__ ids) {
  constexpr int kUnroll = 8;
  struct alignas(sizeof(T) * V) Vec {
    T v[V];
  };
  const T* row = logits + blockIdx.x * ld;
  unsigned long long best = 0;
  for (int64_t base = int64_t{threadIdx.x} * V; base < vocab;
       base += int64_t{kThreads} * V * kUnroll) {
    Vec vec[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t i = base + int64_t{u} * kThreads * V;
      if (i < vocab) vec[u] = *reinterpret_cast<const Vec*>(row + i);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t i = base + int64_t{u} * kThreads * V;
      if (i < vocab) {
#pragma unroll
        for (int j = 0; j < V; ++j) {
          const unsigned long long c = pack(to_float(vec[u].v[j]), i + j);
          best = c > best ? c : best;
        }
      }
    }
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const unsigned long long other = __shfl_xor_sync(0xffffffffu, best, o);
    best = other > best ? other : best;
  }
  __shared__ uint64_t warp_best[kThreads / 32];
  if (threadIdx.x % 32 == 0) warp_best[threadIdx.x / 32] = best;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < kThreads / 32; ++w) best = warp_best[w] > best ? warp_best[w] : best;
    ids[blockIdx.x] = static_cast<int64_t>(0xffffffffull - (best & 0xffffffffull));
  }
}

// ---- sort-based selection
template <typename T>
__global__ void make_keys_kernel(const T* __restrict__ logits, int64_t vocab, float temperature,
                                 uint32_t* __restrict__ keys, int32_t* __restrict__ idx) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < vocab;
       i += int64_t{gridDim.x} * blockDim.x) {
    // Division, not a multiply by 1/T: the reference scales with the same fp32 division.
    keys[i] = float_key(to_float(logits[i]) / temperature);
    idx[i] = static_cast<int32_t>(i);
  }
}

__global__ void top_k_gather_kernel(const uint32_t* __restrict__ keys,
                                    const int32_t* __restrict__ idx, int64_t k,
                                    float* __restrict__ values, int64_t* __restrict__ ids) {
  for (int64_t j = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; j < k;
       j += int64_t{gridDim.x} * blockDim.x) {
    values[j] = key_float(keys[j]);
    ids[j] = idx[j];
  }
}

struct SelectShared {
  double warp_sums[kThreads / 32];
  int first;
  double carry;
  double found_cum;
  int64_t found_j;
  int64_t kept;
};

// Inclusive prefix sum of v over the block's threads (in thread order); *total gets the block's
// sum. Warp scans by shuffles, then one warp scans the 32 warp totals. Every thread must call it.
__device__ double block_inclusive_sum(double v, SelectShared& sh, double* total) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
#pragma unroll
  for (int o = 1; o < 32; o <<= 1) {
    const double n = __shfl_up_sync(0xffffffffu, v, o);
    if (lane >= o) v += n;
  }
  if (lane == 31) sh.warp_sums[warp] = v;
  __syncthreads();
  if (warp == 0) {
    double s = sh.warp_sums[lane];
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
      const double n = __shfl_up_sync(0xffffffffu, s, o);
      if (lane >= o) s += n;
    }
    sh.warp_sums[lane] = s;
  }
  __syncthreads();
  v += warp > 0 ? sh.warp_sums[warp - 1] : 0.0;
  *total = sh.warp_sums[kThreads / 32 - 1];
  __syncthreads();  // warp_sums is reused by the next call
  return v;
}

// Probability weight of sorted position j relative to the maximum (the reference's
// exp(scaled − max) in double; here the exponent is exact in double and the exp in fp32, which
// moves a token boundary by ~1e-7 of the mass, far below what a sampled u resolves in practice).
__device__ __forceinline__ double weight(const uint32_t* keys, int64_t j, double m) {
  return static_cast<double>(expf(static_cast<float>(static_cast<double>(key_float(keys[j])) - m)));
}

// The first sorted position j < limit whose inclusive cumulative weight passes `threshold`
// (cum > threshold when strict, cum ≥ threshold otherwise), scanning tiles of kThreads from the
// front; returns limit − 1 and the full sum when none does (rounding at the very end).
__device__ void find_first(const uint32_t* keys, int64_t limit, double m, double threshold,
                           bool strict, SelectShared& sh, int64_t* j_out, double* cum_out) {
  if (threadIdx.x == 0) sh.carry = 0.0;
  __syncthreads();
  for (int64_t base = 0; base < limit; base += kThreads) {
    const int64_t j = base + threadIdx.x;
    const double p = j < limit ? weight(keys, j, m) : 0.0;
    double tile_sum;
    const double incl = block_inclusive_sum(p, sh, &tile_sum);
    if (threadIdx.x == 0) sh.first = INT_MAX;
    __syncthreads();
    const double cum = sh.carry + incl;
    const bool hit = j < limit && (strict ? cum > threshold : cum >= threshold);
    if (hit) atomicMin(&sh.first, static_cast<int>(threadIdx.x));
    __syncthreads();
    const int first = sh.first;
    if (first != INT_MAX) {
      if (static_cast<int>(threadIdx.x) == first) {
        sh.found_j = j;
        sh.found_cum = cum;
      }
      __syncthreads();
      *j_out = sh.found_j;
      *cum_out = sh.found_cum;
      return;
    }
    __syncthreads();  // everyone has read sh.carry and sh.first
    if (threadIdx.x == 0) sh.carry += tile_sum;
    __syncthreads();
  }
  *j_out = limit - 1;
  *cum_out = sh.carry;
}

// One block: top-k cut, optional nucleus, then the inverse-CDF pick, all over the sorted row.
__global__ void __launch_bounds__(kThreads)
    select_kernel(const uint32_t* __restrict__ keys, const int32_t* __restrict__ idx, int64_t n,
                  int64_t top_k, float top_p, double u, int64_t* __restrict__ out) {
  __shared__ SelectShared sh_storage[1];  // (an array: the CPU emulation's rewriter expects one)
  SelectShared& sh = sh_storage[0];
  if (threadIdx.x == 0) {
    int64_t kept = n;
    if (top_k > 0 && top_k < n) {
      // Everything equal to the k-th largest stays (keys are sorted descending).
      const uint32_t thr = keys[top_k - 1];
      int64_t lo = top_k, hi = n;
      while (lo < hi) {
        const int64_t mid = (lo + hi) / 2;
        if (keys[mid] >= thr)
          lo = mid + 1;
        else
          hi = mid;
      }
      kept = lo;
    }
    // Trailing NaN (key 0) are dropped, keeping at least one token.
    int64_t lo = 0, hi = kept;
    while (lo < hi) {
      const int64_t mid = (lo + hi) / 2;
      if (keys[mid] > 0u)
        lo = mid + 1;
      else
        hi = mid;
    }
    sh.kept = lo > 0 ? lo : 1;
  }
  __syncthreads();
  int64_t kept = sh.kept;
  const double m = key_float(keys[0]);

  double total;
  {
    double part = 0.0;
    for (int64_t j = threadIdx.x; j < kept; j += kThreads) part += weight(keys, j, m);
    block_inclusive_sum(part, sh, &total);
  }
  if (top_p < 1.0f) {
    int64_t j;
    double cum;
    find_first(keys, kept, m, static_cast<double>(top_p) * total, /*strict=*/false, sh, &j, &cum);
    kept = j + 1;
    total = cum;
  }
  int64_t j;
  double cum;
  find_first(keys, kept, m, u * total, /*strict=*/true, sh, &j, &cum);
  if (threadIdx.x == 0) *out = idx[j];
}

// ---- workspace
constexpr size_t kAlign = 256;
size_t align_up(size_t b) { return (b + kAlign - 1) / kAlign * kAlign; }

struct Workspace {
  uint32_t* keys_in;
  uint32_t* keys_out;
  int32_t* idx_in;
  int32_t* idx_out;
  void* temp;
  size_t temp_bytes;
};

Workspace carve(void* base, int64_t vocab) {
  const size_t arr = align_up(static_cast<size_t>(vocab) * 4);
  char* p = static_cast<char*>(base);
  Workspace w;
  w.keys_in = reinterpret_cast<uint32_t*>(p);
  w.keys_out = reinterpret_cast<uint32_t*>(p + arr);
  w.idx_in = reinterpret_cast<int32_t*>(p + 2 * arr);
  w.idx_out = reinterpret_cast<int32_t*>(p + 3 * arr);
  w.temp = p + 4 * arr;
  w.temp_bytes = sort_temp_bytes(vocab);
  return w;
}

// Keys and indices of the row, sorted: descending value, ties by lower index (the sort is stable).
cudaError_t sort_row(const void* logits, bool f32, int64_t vocab, float temperature,
                     const Workspace& w, cudaStream_t stream) {
  const int64_t blocks = ceil_div(vocab, 256) < 4096 ? ceil_div(vocab, 256) : 4096;
  if (f32) {
    make_keys_kernel<float><<<static_cast<unsigned>(blocks), 256, 0, stream>>>(
        static_cast<const float*>(logits), vocab, temperature, w.keys_in, w.idx_in);
  } else {
    make_keys_kernel<bf16_t><<<static_cast<unsigned>(blocks), 256, 0, stream>>>(
        static_cast<const bf16_t*>(logits), vocab, temperature, w.keys_in, w.idx_in);
  }
  VAMBA_CUDA_LAUNCH_CHECK();
  return sort_pairs_descending(w.temp, w.temp_bytes, w.keys_in, w.keys_out, w.idx_in, w.idx_out,
                               vocab, stream);
}

const char* check_row(const void* logits, int64_t vocab) {
  if (logits == nullptr) return "null logits";
  if (vocab < 1 || vocab > kMaxVocab) return "vocab outside [1, 2^31)";
  return nullptr;
}

}  // namespace

size_t sampling_workspace_bytes(int64_t vocab) {
  if (vocab < 1 || vocab > kMaxVocab) return 0;
  return 4 * align_up(static_cast<size_t>(vocab) * 4) + align_up(sort_temp_bytes(vocab));
}

const char* can_implement(const ArgmaxParams& p) {
  if (const char* e = check_row(p.logits, p.vocab)) return e;
  if (p.ids == nullptr) return "null ids";
  if (p.rows < 0 || p.rows > INT_MAX) return "rows outside [0, 2^31)";
  if (p.ld != 0 && p.ld < p.vocab) return "row stride < vocab";
  return nullptr;
}

const char* can_implement(const TopKParams& p) {
  if (const char* e = check_row(p.logits, p.vocab)) return e;
  if (p.values == nullptr || p.ids == nullptr) return "null values or ids";
  if (p.k < 1 || p.k > p.vocab) return "k outside [1, vocab]";
  if (p.workspace == nullptr || p.workspace_bytes < sampling_workspace_bytes(p.vocab)) {
    return "workspace smaller than sampling_workspace_bytes(vocab)";
  }
  return nullptr;
}

const char* can_implement(const SampleParams& p) {
  if (const char* e = check_row(p.logits, p.vocab)) return e;
  if (p.id == nullptr) return "null id";
  if (!(p.temperature > 0.0f)) return "temperature must be > 0 (greedy is argmax)";
  if (!(p.u >= 0.0 && p.u < 1.0)) return "u outside [0, 1)";
  if (p.top_p != p.top_p) return "top_p is NaN";
  if (p.workspace == nullptr || p.workspace_bytes < sampling_workspace_bytes(p.vocab)) {
    return "workspace smaller than sampling_workspace_bytes(vocab)";
  }
  return nullptr;
}

cudaError_t argmax(const ArgmaxParams& p, cudaStream_t stream) {
  if (can_implement(p) != nullptr) return cudaErrorInvalidValue;
  if (p.rows == 0) return cudaSuccess;
  const int64_t ld = p.ld == 0 ? p.vocab : p.ld;
  const auto addr = reinterpret_cast<uintptr_t>(p.logits);
  const unsigned grid = static_cast<unsigned>(p.rows);
  if (p.f32) {
    const auto* x = static_cast<const float*>(p.logits);
    if (p.vocab % 4 == 0 && ld % 4 == 0 && addr % 16 == 0) {
      argmax_kernel<float, 4><<<grid, kThreads, 0, stream>>>(x, p.vocab, ld, p.ids);
    } else {
      argmax_kernel<float, 1><<<grid, kThreads, 0, stream>>>(x, p.vocab, ld, p.ids);
    }
  } else {
    const auto* x = static_cast<const bf16_t*>(p.logits);
    if (p.vocab % 8 == 0 && ld % 8 == 0 && addr % 16 == 0) {
      argmax_kernel<bf16_t, 8><<<grid, kThreads, 0, stream>>>(x, p.vocab, ld, p.ids);
    } else {
      argmax_kernel<bf16_t, 1><<<grid, kThreads, 0, stream>>>(x, p.vocab, ld, p.ids);
    }
  }
  return cudaGetLastError();
}

cudaError_t top_k(const TopKParams& p, cudaStream_t stream) {
  if (can_implement(p) != nullptr) return cudaErrorInvalidValue;
  const Workspace w = carve(p.workspace, p.vocab);
  VAMBA_CUDA_TRY(sort_row(p.logits, p.f32, p.vocab, 1.0f, w, stream));
  const int64_t blocks = ceil_div(p.k, 256) < 1024 ? ceil_div(p.k, 256) : 1024;
  top_k_gather_kernel<<<static_cast<unsigned>(blocks), 256, 0, stream>>>(w.keys_out, w.idx_out, p.k,
                                                                         p.values, p.ids);
  return cudaGetLastError();
}

cudaError_t sample(const SampleParams& p, cudaStream_t stream) {
  if (can_implement(p) != nullptr) return cudaErrorInvalidValue;
  const Workspace w = carve(p.workspace, p.vocab);
  VAMBA_CUDA_TRY(sort_row(p.logits, p.f32, p.vocab, p.temperature, w, stream));
  select_kernel<<<1, kThreads, 0, stream>>>(w.keys_out, w.idx_out, p.vocab, p.top_k, p.top_p, p.u,
                                            p.id);
  return cudaGetLastError();
}

}  // namespace vamba::kernels
