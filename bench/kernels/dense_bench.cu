// Times the dense kernels (GEMM via cuBLASLt, norms, activations, adds, rotary, embedding,
// selection) at Vamba-Qwen2-VL-7B shapes and prints one machine-readable line per case:
//
//   BENCH name=<case> time_us=<median> <tflops=|gbps=>... floor_us=<bound> ratio=<time / floor>
//
// The floor is the larger of FLOPs / 800 TFLOP/s (dense bf16 on an H100 SXM) and bytes / 3.0 TB/s
// (HBM3, what a device-to-device copy reaches on our H100s), where bytes count every input read
// once and every output written once. Method: inputs are random (never zeros), 5 warm-up launches,
// then the median of N launches each timed with its own pair of CUDA events; each case rotates over
// enough copies of its buffers that together they exceed 3× the L2 cache, so no launch finds its
// inputs in L2 from the previous one.
//
//   dense_bench [substring]   runs the cases whose name contains substring (default: all)
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "kernels/elementwise/activation.h"
#include "kernels/elementwise/add.h"
#include "kernels/elementwise/cast.h"
#include "kernels/embedding/embedding.h"
#include "kernels/gemm/gemm.h"
#include "kernels/gemm/gemv_mma.h"
#include "kernels/norm/norm.h"
#include "kernels/rope/rope.h"
#include "kernels/sampling/sampling.h"

#include "bench/kernels/bench_common.cuh"

namespace {

__global__ void fill_f32(float* p, int64_t n, uint32_t seed, float scale) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    p[i] = hash_unit(i, seed) * scale;
  }
}

__global__ void fill_ids(int64_t* p, int64_t n, int64_t vocab, uint32_t seed) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    p[i] = static_cast<int64_t>((hash_unit(i, seed) + 1.0f) * 0.5f * (vocab - 1));
  }
}

struct Buffers {
  std::vector<void*> ptrs;
  ~Buffers() {
    for (void* p : ptrs) cudaFree(p);
  }
  void* alloc(size_t bytes) {
    void* p = nullptr;
    BENCH_CHECK(cudaMalloc(&p, bytes));
    ptrs.push_back(p);
    return p;
  }
  void* bf16(int64_t n, float scale = 1.0f) {
    auto* p = static_cast<__nv_bfloat16*>(alloc(static_cast<size_t>(n) * 2));
    fill_bf16<<<1024, 256>>>(p, n, static_cast<uint32_t>(ptrs.size()), scale);
    BENCH_CHECK(cudaGetLastError());
    return p;
  }
  float* f32(int64_t n, float scale = 1.0f) {
    auto* p = static_cast<float*>(alloc(static_cast<size_t>(n) * 4));
    fill_f32<<<1024, 256>>>(p, n, static_cast<uint32_t>(ptrs.size()), scale);
    BENCH_CHECK(cudaGetLastError());
    return p;
  }
};

int64_t g_l2_bytes = 50 << 20;
const char* g_filter = nullptr;

// How many copies of a case's buffers to rotate over: enough to exceed 3× L2.
int sets_for(double bytes_per_set) {
  const double want = 3.0 * static_cast<double>(g_l2_bytes) / std::max(bytes_per_set, 1.0);
  return std::clamp(static_cast<int>(want) + 1, 1, 512);
}

// Times launch(set) over rotating sets; prints the BENCH line.
void time_case(const std::string& name, double flops, double bytes, int sets, int reps,
               const std::function<cudaError_t(int)>& launch, const std::string& extra = "") {
  cudaEvent_t a, b;
  BENCH_CHECK(cudaEventCreate(&a));
  BENCH_CHECK(cudaEventCreate(&b));
  for (int i = 0; i < 5; ++i) BENCH_CHECK(launch(i % sets));
  BENCH_CHECK(cudaDeviceSynchronize());
  std::vector<float> ms(static_cast<size_t>(reps));
  for (int i = 0; i < reps; ++i) {
    BENCH_CHECK(cudaEventRecord(a));
    BENCH_CHECK(launch(i % sets));
    BENCH_CHECK(cudaEventRecord(b));
    BENCH_CHECK(cudaEventSynchronize(b));
    BENCH_CHECK(cudaEventElapsedTime(&ms[i], a, b));
  }
  std::sort(ms.begin(), ms.end());
  const double t_us = 1e3 * ms[ms.size() / 2];
  // Back to back: the launches queued ahead of the GPU, as inside a decode step (no host launch
  // latency between them; a kernel with programmatic dependent launch overlaps its predecessor).
  BENCH_CHECK(cudaEventRecord(a));
  for (int i = 0; i < reps; ++i) BENCH_CHECK(launch(i % sets));
  BENCH_CHECK(cudaEventRecord(b));
  BENCH_CHECK(cudaEventSynchronize(b));
  float total_ms = 0.0f;
  BENCH_CHECK(cudaEventElapsedTime(&total_ms, a, b));
  const double b2b_us = 1e3 * total_ms / reps;
  const double floor_us = std::max(flops / (kPeakTflops * 1e6), bytes / (kPeakGBps * 1e3));
  std::printf("BENCH name=%s time_us=%.2f b2b_us=%.2f b2b_ratio=%.2f", name.c_str(), t_us, b2b_us,
              b2b_us / floor_us);
  if (flops > 0) std::printf(" tflops=%.1f", flops / (t_us * 1e6));
  if (bytes > 0) std::printf(" gbps=%.0f", bytes / (t_us * 1e3));
  std::printf(" floor_us=%.2f ratio=%.2f%s%s\n", floor_us, t_us / floor_us,
              extra.empty() ? "" : " ", extra.c_str());
  std::fflush(stdout);
  cudaEventDestroy(a);
  cudaEventDestroy(b);
}

bool selected(const std::string& name) {
  return g_filter == nullptr || name.find(g_filter) != std::string::npos;
}

// ---- cases --------------------------------------------------------------------------------------

void bench_gemm(const std::string& name, int64_t m, int64_t n, int64_t k, bool bias = false,
                bool y_f32 = false,
                vamba::kernels::GemmImpl impl = vamba::kernels::GemmImpl::kAuto) {
  if (!selected(name)) return;
  Buffers buf;
  const double bytes = 2.0 * (m * k + n * k + (bias ? n : 0)) + (y_f32 ? 4.0 : 2.0) * m * n;
  const int sets = sets_for(bytes);
  std::vector<vamba::kernels::GemmParams> ps(static_cast<size_t>(sets));
  for (auto& p : ps) {
    p.x = buf.bf16(m * k);
    p.w = buf.bf16(n * k, 0.05f);
    p.bias = bias ? buf.bf16(n) : nullptr;
    p.y = buf.alloc(static_cast<size_t>(m * n) * (y_f32 ? 4 : 2));
    p.m = m;
    p.n = n;
    p.k = k;
    p.y_f32 = y_f32;
    p.impl = impl;
  }
  const int reps = m >= 4096 ? 30 : 200;
  time_case(
      name, 2.0 * m * n * k, bytes, sets, reps,
      [&](int s) {
        const cudaError_t e = vamba::kernels::gemm(ps[s], nullptr);
        if (e != cudaSuccess)
          std::fprintf(stderr, "%s\n", vamba::kernels::gemm_last_error().c_str());
        return e;
      },
      "M=" + std::to_string(m) + " N=" + std::to_string(n) + " K=" + std::to_string(k));
}

// The tensor-core GEMV (kernels/gemm/gemv_mma.h) directly: output segments (rows of each), SwiGLU
// (a second weight of the same shape) and the k-split width (0 = its own choice).
void bench_gemv_mma(const std::string& name, int64_t m, const std::vector<int64_t>& segments,
                    int64_t k, bool bias, bool y_f32, bool swiglu, int warps) {
  if (!selected(name)) return;
  Buffers buf;
  int64_t n = 0;
  for (int64_t r : segments) n += r;
  const double weights = 2.0 * n * k * (swiglu ? 2 : 1);
  const double bytes = weights + 2.0 * (m * k + (bias ? n : 0)) + (y_f32 ? 4.0 : 2.0) * m * n;
  const int sets = sets_for(bytes);
  std::vector<vamba::kernels::GemvMmaParams> ps(static_cast<size_t>(sets));
  for (auto& p : ps) {
    p.x = buf.bf16(m * k);
    p.w = buf.bf16(n * k, 0.05f);
    p.w_up = swiglu ? buf.bf16(n * k, 0.05f) : nullptr;
    p.bias = bias ? buf.bf16(n) : nullptr;
    p.num_outputs = static_cast<int>(segments.size());
    for (size_t i = 0; i < segments.size(); ++i) {
      p.out[i].y = buf.alloc(static_cast<size_t>(m * segments[i]) * (y_f32 ? 4 : 2));
      p.out[i].rows = segments[i];
    }
    p.m = m;
    p.n = n;
    p.k = k;
    p.y_f32 = y_f32;
    p.warps = warps;
  }
  time_case(
      name, 2.0 * m * n * k * (swiglu ? 2 : 1), bytes, sets, 200,
      [&](int s) { return vamba::kernels::gemv_mma(ps[s], nullptr); },
      "M=" + std::to_string(m) + " N=" + std::to_string(n) + " K=" + std::to_string(k));
}

void bench_norms() {
  const int64_t rows = 16384, dim = 3584;
  if (selected("rms_norm_16384x3584")) {
    Buffers buf;
    const double bytes = 2.0 * (2 * rows * dim + dim);
    const int sets = sets_for(bytes);
    std::vector<vamba::kernels::RmsNormParams> ps(static_cast<size_t>(sets));
    for (auto& p : ps) {
      p.x = buf.bf16(rows * dim);
      p.w = buf.bf16(dim);
      p.y = buf.alloc(static_cast<size_t>(rows * dim) * 2);
      p.rows = rows;
      p.dim = dim;
    }
    time_case("rms_norm_16384x3584", 0, bytes, sets, 100,
              [&](int s) { return vamba::kernels::rms_norm(ps[s], nullptr); });
  }
  if (selected("rms_norm_decode_1x3584")) {
    Buffers buf;
    const double bytes = 2.0 * (2 * dim + dim);
    const int sets = sets_for(bytes);
    std::vector<vamba::kernels::RmsNormParams> ps(static_cast<size_t>(sets));
    for (auto& p : ps) {
      p.x = buf.bf16(dim);
      p.w = buf.bf16(dim);
      p.y = buf.alloc(static_cast<size_t>(dim) * 2);
      p.rows = 1;
      p.dim = dim;
    }
    time_case("rms_norm_decode_1x3584", 0, bytes, sets, 200,
              [&](int s) { return vamba::kernels::rms_norm(ps[s], nullptr); });
  }
  if (selected("add_rms_norm_16384x3584")) {
    Buffers buf;
    const double bytes = 2.0 * (4 * rows * dim + dim);
    const int sets = sets_for(bytes);
    std::vector<vamba::kernels::AddRmsNormParams> ps(static_cast<size_t>(sets));
    for (auto& p : ps) {
      p.residual = buf.bf16(rows * dim);
      p.x = buf.bf16(rows * dim, 0.01f);
      p.w = buf.bf16(dim);
      p.y = buf.alloc(static_cast<size_t>(rows * dim) * 2);
      p.rows = rows;
      p.dim = dim;
    }
    time_case("add_rms_norm_16384x3584", 0, bytes, sets, 100,
              [&](int s) { return vamba::kernels::add_rms_norm(ps[s], nullptr); });
  }
  if (selected("layer_norm_65536x1280")) {
    Buffers buf;
    const int64_t r = 65536, d = 1280;
    const double bytes = 2.0 * (2 * r * d + 2 * d);
    const int sets = sets_for(bytes);
    std::vector<vamba::kernels::LayerNormParams> ps(static_cast<size_t>(sets));
    for (auto& p : ps) {
      p.x = buf.bf16(r * d);
      p.w = buf.bf16(d);
      p.b = buf.bf16(d);
      p.y = buf.alloc(static_cast<size_t>(r * d) * 2);
      p.rows = r;
      p.dim = d;
    }
    time_case("layer_norm_65536x1280", 0, bytes, sets, 100,
              [&](int s) { return vamba::kernels::layer_norm(ps[s], nullptr); });
  }
  if (selected("gated_rms_norm_16384x7168")) {
    Buffers buf;
    const int64_t r = 16384, d = 7168, ldz = 14704;
    const double bytes = 2.0 * (3 * r * d + d);  // x, z (its d columns), y
    const int sets = sets_for(bytes);
    std::vector<vamba::kernels::GatedRmsNormParams> ps(static_cast<size_t>(sets));
    for (auto& p : ps) {
      p.x = buf.bf16(r * d);
      p.z = buf.bf16(r * ldz);
      p.ldz = ldz;
      p.w = buf.bf16(d);
      p.y = buf.alloc(static_cast<size_t>(r * d) * 2);
      p.rows = r;
      p.dim = d;
    }
    time_case("gated_rms_norm_16384x7168", 0, bytes, sets, 100,
              [&](int s) { return vamba::kernels::gated_rms_norm(ps[s], nullptr); });
  }
}

void bench_elementwise() {
  if (selected("silu_mul_16384x18944")) {
    Buffers buf;
    const int64_t r = 16384, c = 18944;
    const double bytes = 2.0 * 3 * r * c;
    const int sets = sets_for(bytes);
    std::vector<vamba::kernels::SiluMulParams> ps(static_cast<size_t>(sets));
    for (auto& p : ps) {
      p.gate = buf.bf16(r * c);
      p.up = buf.bf16(r * c);
      p.y = buf.alloc(static_cast<size_t>(r * c) * 2);
      p.rows = r;
      p.cols = c;
    }
    time_case("silu_mul_16384x18944", 0, bytes, sets, 50,
              [&](int s) { return vamba::kernels::silu_mul(ps[s], nullptr); });
  }
  for (const auto act :
       {vamba::kernels::Activation::kQuickGelu, vamba::kernels::Activation::kGelu}) {
    const std::string name =
        std::string(act == vamba::kernels::Activation::kGelu ? "gelu" : "quick_gelu") +
        "_65536x5120";
    if (!selected(name)) continue;
    Buffers buf;
    const int64_t r = 65536, c = 5120;
    const double bytes = 2.0 * 2 * r * c;
    const int sets = sets_for(bytes);
    std::vector<vamba::kernels::ActivationParams> ps(static_cast<size_t>(sets));
    for (auto& p : ps) {
      p.x = buf.bf16(r * c, 3.0f);
      p.y = buf.alloc(static_cast<size_t>(r * c) * 2);
      p.rows = r;
      p.cols = c;
      p.act = act;
    }
    time_case(name, 0, bytes, sets, 50,
              [&](int s) { return vamba::kernels::activation(ps[s], nullptr); });
  }
  if (selected("residual_blend_16384x3584")) {
    Buffers buf;
    const int64_t r = 16384, c = 3584;
    const double bytes = 2.0 * 4 * r * c;
    const int sets = sets_for(bytes);
    std::vector<vamba::kernels::AddParams> ps(static_cast<size_t>(sets));
    for (auto& p : ps) {
      p.a = p.y = buf.bf16(r * c);
      p.b = buf.bf16(r * c, 0.01f);
      p.c = buf.bf16(r * c, 0.01f);
      p.rows = r;
      p.cols = c;
      p.alpha_b = 0.4f;
      p.alpha_c = 0.6f;
    }
    time_case("residual_blend_16384x3584", 0, bytes, sets, 100,
              [&](int s) { return vamba::kernels::add(ps[s], nullptr); });
  }
  if (selected("bias_add_65536x1280")) {
    Buffers buf;
    const int64_t r = 65536, c = 1280;
    const double bytes = 2.0 * (2 * r * c + c);
    const int sets = sets_for(bytes);
    std::vector<vamba::kernels::AddParams> ps(static_cast<size_t>(sets));
    for (auto& p : ps) {
      p.a = p.y = buf.bf16(r * c);
      p.b = buf.bf16(c);
      p.broadcast_b = true;
      p.rows = r;
      p.cols = c;
    }
    time_case("bias_add_65536x1280", 0, bytes, sets, 100,
              [&](int s) { return vamba::kernels::add(ps[s], nullptr); });
  }
  if (selected("cast_f32_to_bf16_16384x3584")) {
    Buffers buf;
    const int64_t n = int64_t{16384} * 3584;
    const double bytes = 6.0 * n;
    const int sets = sets_for(bytes);
    std::vector<std::pair<float*, void*>> ps;
    for (int s = 0; s < sets; ++s)
      ps.emplace_back(buf.f32(n), buf.alloc(static_cast<size_t>(n) * 2));
    time_case("cast_f32_to_bf16_16384x3584", 0, bytes, sets, 100, [&](int s) {
      return vamba::kernels::cast_f32_to_bf16(ps[s].first, ps[s].second, n, nullptr);
    });
  }
}

void bench_rope_embedding() {
  if (selected("rope_qk_16384x(28+4)x128")) {
    Buffers buf;
    const int64_t n = 16384, hq = 28, hk = 4, d = 128;
    const double bytes = 2.0 * 2 * n * (hq + hk) * d + 2.0 * 4 * n * d / 2;
    const int sets = sets_for(bytes);
    std::vector<vamba::kernels::RotaryParams> ps(static_cast<size_t>(sets));
    for (auto& p : ps) {
      p.x = buf.bf16(n * hq * d);
      p.heads = hq;
      p.x2 = buf.bf16(n * hk * d);
      p.heads2 = hk;
      p.cos = buf.f32(n * d / 2);
      p.sin = buf.f32(n * d / 2);
      p.n = n;
      p.head_dim = d;
    }
    time_case("rope_qk_16384x(28+4)x128", 0, bytes, sets, 100,
              [&](int s) { return vamba::kernels::apply_rotary(ps[s], nullptr); });
  }
  if (selected("embedding_16384x3584")) {
    Buffers buf;
    const int64_t vocab = 152064, dim = 3584, n = 16384;
    void* table = buf.bf16(vocab * dim);
    const double bytes = 2.0 * 2 * n * dim + 8.0 * n;
    const int sets = sets_for(bytes);
    std::vector<vamba::kernels::EmbeddingParams> ps(static_cast<size_t>(sets));
    for (auto& p : ps) {
      auto* ids = static_cast<int64_t*>(buf.alloc(static_cast<size_t>(n) * 8));
      fill_ids<<<256, 256>>>(ids, n, vocab, static_cast<uint32_t>(buf.ptrs.size()));
      BENCH_CHECK(cudaGetLastError());
      p.table = table;
      p.ids = ids;
      p.out = buf.alloc(static_cast<size_t>(n * dim) * 2);
      p.vocab = vocab;
      p.dim = dim;
      p.n = n;
    }
    time_case("embedding_16384x3584", 0, bytes, sets, 100,
              [&](int s) { return vamba::kernels::embedding(ps[s], nullptr); });
  }
}

void bench_selection() {
  const int64_t vocab = 152064;
  for (const int64_t rows : {int64_t{1}, int64_t{64}}) {
    const std::string name = "argmax_f32_" + std::to_string(rows) + "x152064";
    if (!selected(name)) continue;
    Buffers buf;
    const double bytes = 4.0 * rows * vocab;
    const int sets = sets_for(bytes);
    std::vector<vamba::kernels::ArgmaxParams> ps(static_cast<size_t>(sets));
    for (auto& p : ps) {
      p.logits = buf.f32(rows * vocab, 10.0f);
      p.rows = rows;
      p.vocab = vocab;
      p.ids = static_cast<int64_t*>(buf.alloc(static_cast<size_t>(rows) * 8));
    }
    time_case(name, 0, bytes, sets, 200,
              [&](int s) { return vamba::kernels::argmax(ps[s], nullptr); });
  }
  struct SampleCase {
    const char* name;
    float t;
    int64_t k;
    float p;
  };
  const SampleCase cases[] = {{"sample_T0.8_k50_p0.9", 0.8f, 50, 0.9f},
                              {"sample_T1_p0.95", 1.0f, 0, 0.95f},
                              {"sample_T1_full", 1.0f, 0, 1.0f}};
  for (const SampleCase& c : cases) {
    if (!selected(c.name)) continue;
    Buffers buf;
    const size_t ws_bytes = vamba::kernels::sampling_workspace_bytes(vocab);
    void* ws = buf.alloc(ws_bytes);
    auto* id = static_cast<int64_t*>(buf.alloc(8));
    const double bytes = 4.0 * vocab;
    const int sets = sets_for(bytes);
    std::vector<vamba::kernels::SampleParams> ps(static_cast<size_t>(sets));
    int i = 0;
    for (auto& p : ps) {
      p.logits = buf.f32(vocab, 10.0f);
      p.vocab = vocab;
      p.temperature = c.t;
      p.top_k = c.k;
      p.top_p = c.p;
      p.u = (++i % 97) / 97.0;
      p.id = id;
      p.workspace = ws;
      p.workspace_bytes = ws_bytes;
    }
    time_case(
        c.name, 0, bytes, sets, 200, [&](int s) { return vamba::kernels::sample(ps[s], nullptr); },
        "vocab=152064");
  }
  if (selected("top_k20_152064")) {
    Buffers buf;
    const size_t ws_bytes = vamba::kernels::sampling_workspace_bytes(vocab);
    void* ws = buf.alloc(ws_bytes);
    auto* vals = static_cast<float*>(buf.alloc(20 * 4));
    auto* ids = static_cast<int64_t*>(buf.alloc(20 * 8));
    const double bytes = 4.0 * vocab;
    const int sets = sets_for(bytes);
    std::vector<vamba::kernels::TopKParams> ps(static_cast<size_t>(sets));
    for (auto& p : ps) {
      p.logits = buf.f32(vocab, 10.0f);
      p.vocab = vocab;
      p.k = 20;
      p.values = vals;
      p.ids = ids;
      p.workspace = ws;
      p.workspace_bytes = ws_bytes;
    }
    time_case("top_k20_152064", 0, bytes, sets, 200,
              [&](int s) { return vamba::kernels::top_k(ps[s], nullptr); });
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) g_filter = argv[1];
  int device = 0, l2 = 0;
  BENCH_CHECK(cudaGetDevice(&device));
  BENCH_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device));
  if (l2 > 0) g_l2_bytes = l2;
  cudaDeviceProp prop{};
  BENCH_CHECK(cudaGetDeviceProperties(&prop, device));
  std::printf(
      "# dense_bench on %s, L2 %d MiB; floor = max(flops / %.0f TFLOP/s, bytes / %.1f TB/s)\n",
      prop.name, l2 >> 20, kPeakTflops, kPeakGBps / 1000.0);

  // Prefill GEMMs at 16K video tokens: Mamba in_proj and out_proj, the MLP; decode GEMVs; lm_head.
  bench_gemm("gemm_mamba_in_proj", 16384, 14704, 3584);
  bench_gemm("gemm_mamba_out_proj", 16384, 3584, 7168);
  bench_gemm("gemm_mlp_up", 16384, 18944, 3584);
  bench_gemm("gemm_mlp_down", 16384, 3584, 18944);
  bench_gemm("gemm_q_proj_bias", 16384, 3584, 3584, true);
  // Decode GEMVs at m = 1, 2, 4, 8 (batched decode): cuBLASLt against the streaming kernel
  // (kernels/gemm/gemv.h); kAuto picks gemv for m <= kGemvAutoMaxRows.
  using vamba::kernels::GemmImpl;
  struct DecodeShape {
    const char* name;
    int64_t n, k;
    bool bias, f32;
  };
  const DecodeShape decode_shapes[] = {{"18944x3584", 18944, 3584, false, false},
                                       {"3584x18944", 3584, 18944, false, false},
                                       {"3584x3584_bias", 3584, 3584, true, false},
                                       {"512x3584_bias", 512, 3584, true, false},
                                       {"lm_head_f32", 152064, 3584, false, true}};
  for (const DecodeShape& d : decode_shapes) {
    for (const int64_t m : {1, 2, 4, 8, 16}) {
      const std::string base = "gemv_m" + std::to_string(m) + "_" + d.name;
      bench_gemm(base + "_cublaslt", m, d.n, d.k, d.bias, d.f32, GemmImpl::kCublasLt);
      if (m <= 8) bench_gemm(base + "_custom", m, d.n, d.k, d.bias, d.f32, GemmImpl::kGemv);
      for (const int warps : {0, 4, 8, 16}) {
        bench_gemv_mma(base + "_mma" + (warps ? "_w" + std::to_string(warps) : std::string()), m,
                       {d.n}, d.k, d.bias, d.f32, false, warps);
      }
    }
  }
  // The fused decode products: q, k, v as one 4608-row weight (three outputs), and SwiGLU
  // (gate and up in one pass) against the separate products they replace.
  for (const int64_t m : {1, 8, 16}) {
    const std::string tag = "_m" + std::to_string(m);
    bench_gemv_mma("gemv_qkv_fused" + tag, m, {3584, 512, 512}, 3584, true, false, false, 0);
    bench_gemv_mma("gemv_swiglu_fused" + tag, m, {18944}, 3584, false, false, true, 0);
  }
  bench_norms();
  bench_elementwise();
  bench_rope_embedding();
  bench_selection();
  return 0;
}
