// Times the sequence-mixing kernels (attention, the Mamba-2 SSD scan and conv) at
// Vamba-Qwen2-VL-7B shapes and prints one machine-readable line per case:
//
//   BENCH name=<case> time_us=<median> tflops=<achieved> gbps=<achieved> floor_us=<bound>
//         ratio=<time / floor> [extra key=value ...]
//
// FLOPs count the useful multiply-adds of the algorithm (2 per MAC; causal masks halve the masked
// products). Bytes count every input read once and every output written once (no workspace). The
// floor is the larger of FLOPs / 800 TFLOP/s (dense bf16 on an H100 SXM) and bytes / 3.0 TB/s
// (HBM3). Method: random inputs (never zeros), 3 warm-up launches, then the median of N launches
// each timed with its own pair of CUDA events; cases smaller than 3× L2 rotate over several copies
// of their inputs so no launch finds them in L2 from the previous one.
//
//   seq_bench [substring]   runs the cases whose name contains substring (default: all)
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "kernels/attention/attention.h"
#include "kernels/attention/cross_decode.h"
#include "kernels/attention/decode_rows.h"
#include "kernels/conv/causal_conv1d.h"
#include "kernels/ssd/ssd.h"
#include "kernels/ssd/ssd_args.cuh"

#include "bench/kernels/bench_common.cuh"

namespace {

namespace kernels = vamba::kernels;

constexpr size_t kRotateBytes = size_t{150} << 20;  // 3× the H100's 50 MB L2

// lo + (hi − lo) · u, u uniform in [0, 1).
__global__ void fill_f32(float* p, int64_t n, uint32_t seed, float lo, float hi) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    p[i] = lo + (hi - lo) * (hash_unit(i, seed) * 0.5f + 0.5f);
  }
}

class Pool {
 public:
  ~Pool() {
    for (void* p : ptrs_) cudaFree(p);
  }
  template <class T>
  T* alloc(int64_t n) {
    void* p = nullptr;
    BENCH_CHECK(cudaMalloc(&p, sizeof(T) * static_cast<size_t>(std::max<int64_t>(n, 1))));
    ptrs_.push_back(p);
    return static_cast<T*>(p);
  }
  __nv_bfloat16* bf16(int64_t n, float scale = 1.0f) {
    auto* p = alloc<__nv_bfloat16>(n);
    fill_bf16<<<1024, 256>>>(p, n, seed_++, scale);
    BENCH_CHECK(cudaGetLastError());
    return p;
  }
  float* f32(int64_t n, float lo, float hi) {
    auto* p = alloc<float>(n);
    fill_f32<<<1024, 256>>>(p, n, seed_++, lo, hi);
    BENCH_CHECK(cudaGetLastError());
    return p;
  }

 private:
  std::vector<void*> ptrs_;
  uint32_t seed_ = 1;
};

// Median time in microseconds of launch(i) over `iters` runs (i: the run index, for rotation).
double time_us(const std::function<void(int)>& launch, int iters) {
  for (int i = 0; i < 3; ++i) launch(i);
  BENCH_CHECK(cudaDeviceSynchronize());
  cudaEvent_t a, b;
  BENCH_CHECK(cudaEventCreate(&a));
  BENCH_CHECK(cudaEventCreate(&b));
  std::vector<float> ms(iters);
  for (int i = 0; i < iters; ++i) {
    BENCH_CHECK(cudaEventRecord(a));
    launch(i);
    BENCH_CHECK(cudaEventRecord(b));
    BENCH_CHECK(cudaEventSynchronize(b));
    BENCH_CHECK(cudaEventElapsedTime(&ms[i], a, b));
  }
  BENCH_CHECK(cudaEventDestroy(a));
  BENCH_CHECK(cudaEventDestroy(b));
  std::sort(ms.begin(), ms.end());
  return 1000.0 * ms[iters / 2];
}

void report(const std::string& name, double us, double flops, double bytes,
            const std::string& extra = "") {
  const double floor_us = std::max(flops / (kPeakTflops * 1e6), bytes / (kPeakGBps * 1e3));
  std::printf("BENCH name=%s time_us=%.2f tflops=%.2f gbps=%.1f floor_us=%.2f ratio=%.2f%s%s\n",
              name.c_str(), us, flops / (us * 1e6), bytes / (us * 1e3), floor_us, us / floor_us,
              extra.empty() ? "" : " ", extra.c_str());
  std::fflush(stdout);
}

bool selected(const std::string& name, const char* filter) {
  return filter == nullptr || name.find(filter) != std::string::npos;
}

// --- attention -----------------------------------------------------------------------------------

struct AttnShape {
  int64_t n_q, n_k;
  int hq, hkv, d;
  bool causal;
  std::vector<int64_t> cu;  // segments
};

void bench_attention(const std::string& name, const AttnShape& s, const char* filter,
                     kernels::AttentionImpl impl = kernels::AttentionImpl::kAuto,
                     int num_splits = 0) {
  if (!selected(name, filter)) return;
  Pool pool;
  const int64_t q_elems = s.n_q * s.hq * s.d, kv_elems = s.n_k * s.hkv * s.d;
  const double io_bytes = 2.0 * (2 * q_elems + 2 * kv_elems);
  const int copies = static_cast<int>(std::max<double>(1, std::ceil(kRotateBytes / io_bytes)));
  std::vector<kernels::AttentionParams> ps;
  int64_t* cu = nullptr;
  if (!s.cu.empty()) {
    cu = pool.alloc<int64_t>(static_cast<int64_t>(s.cu.size()));
    BENCH_CHECK(cudaMemcpy(cu, s.cu.data(), sizeof(int64_t) * s.cu.size(), cudaMemcpyHostToDevice));
  }
  for (int c = 0; c < copies; ++c) {
    kernels::AttentionParams p;
    p.q = pool.bf16(q_elems);
    p.k = pool.bf16(kv_elems);
    p.v = pool.bf16(kv_elems);
    p.o = pool.alloc<__nv_bfloat16>(q_elems);
    p.q_token_stride = p.o_token_stride = int64_t{s.hq} * s.d;
    p.k_token_stride = p.v_token_stride = int64_t{s.hkv} * s.d;
    p.q_head_stride = p.o_head_stride = p.k_head_stride = p.v_head_stride = s.d;
    p.num_heads = s.hq;
    p.num_kv_heads = s.hkv;
    p.head_dim = s.d;
    p.q_len = s.n_q;
    p.kv_len = s.n_k;
    p.causal = s.causal;
    p.q_offset = s.n_k - s.n_q;
    p.scale = 1.0f / std::sqrt(static_cast<float>(s.d));
    p.impl = impl;
    p.num_splits = num_splits;
    if (cu != nullptr) {
      p.cu_seqlens_q = p.cu_seqlens_k = cu;
      p.num_segments = static_cast<int64_t>(s.cu.size()) - 1;
      for (size_t i = 0; i + 1 < s.cu.size(); ++i) {
        p.max_seqlen_q = std::max(p.max_seqlen_q, s.cu[i + 1] - s.cu[i]);
      }
    }
    const kernels::AttentionPlan plan = kernels::attention_plan(p);
    p.workspace = pool.alloc<unsigned char>(static_cast<int64_t>(plan.workspace_bytes));
    p.workspace_bytes = plan.workspace_bytes;
    if (const char* why = kernels::attention_can_implement(p)) {
      std::printf("BENCH name=%s skipped=\"%s\"\n", name.c_str(), why);
      return;
    }
    ps.push_back(p);
  }
  const int splits = kernels::attention_plan(ps[0]).num_splits;
  const double us =
      time_us([&](int i) { BENCH_CHECK(kernels::attention_forward(ps[i % copies], nullptr)); }, 20);
  // Score and P·V products: 4·d FLOPs per (query head, visible key).
  double pairs = 0;
  if (!s.cu.empty()) {
    for (size_t i = 0; i + 1 < s.cu.size(); ++i) {
      const double n = static_cast<double>(s.cu[i + 1] - s.cu[i]);
      pairs += s.causal ? n * (n + 1) / 2 : n * n;
    }
  } else if (s.causal) {
    for (int64_t i = 0; i < s.n_q; ++i) pairs += static_cast<double>(s.n_k - s.n_q + i + 1);
  } else {
    pairs = static_cast<double>(s.n_q) * s.n_k;
  }
  const double flops = 4.0 * s.d * s.hq * pairs;
  char extra[160];
  std::snprintf(extra, sizeof(extra), "n_q=%lld n_k=%lld splits=%d kv_gbps=%.1f",
                static_cast<long long>(s.n_q), static_cast<long long>(s.n_k), splits,
                2.0 * 2 * kv_elems / (us * 1e3));
  report(name, us, flops, io_bytes, extra);
}

// --- SSD -----------------------------------------------------------------------------------------

struct SsdShape {
  int64_t L;
  int H, P, G, N, Q;
};

// The mixer's layout: x, B, C inside xBC (L, H·P + 2·G·N); dt (L, H) f32 already processed.
struct SsdInputs {
  kernels::SsdParams p;
  SsdInputs(Pool& pool, const SsdShape& s) {
    const int64_t conv_dim = int64_t{s.H} * s.P + 2 * int64_t{s.G} * s.N;
    const __nv_bfloat16* xbc = pool.bf16(s.L * conv_dim);
    p.x = xbc;
    p.B = xbc + int64_t{s.H} * s.P;
    p.C = xbc + int64_t{s.H} * s.P + int64_t{s.G} * s.N;
    p.x_token_stride = p.b_token_stride = p.c_token_stride = conv_dim;
    p.dt = pool.f32(s.L * s.H, 1e-3f, 0.1f);
    p.dt_token_stride = s.H;
    p.A = pool.f32(s.H, -16.0f, -1.0f);
    p.D = pool.f32(s.H, -1.0f, 1.0f);
    float* state = pool.f32(int64_t{s.H} * s.P * s.N, -0.5f, 0.5f);
    p.initial_state = state;
    p.final_state = state;
    p.y = pool.alloc<__nv_bfloat16>(s.L * s.H * s.P);
    p.y_token_stride = int64_t{s.H} * s.P;
    p.length = s.L;
    p.nheads = s.H;
    p.headdim = s.P;
    p.ngroups = s.G;
    p.dstate = s.N;
    p.chunk_size = s.Q;
  }
};

double ssd_flops(const SsdShape& s) {
  // Per token: chunk state 2PN·H, C·S_in 2PN·H, causal within-chunk product Q·P·H, CB Q·N·G.
  return static_cast<double>(s.L) * (4.0 * s.P * s.N * s.H + static_cast<double>(s.Q) * s.P * s.H +
                                     static_cast<double>(s.Q) * s.N * s.G);
}

double ssd_bytes(const SsdShape& s) {
  return static_cast<double>(s.L) *
         (2.0 * s.H * s.P /*x*/ + 4.0 * s.G * s.N /*B, C*/ + 4.0 * s.H /*dt*/ + 2.0 * s.H * s.P);
}

void bench_ssd(const std::string& name, const SsdShape& s, kernels::SsdImpl impl,
               const char* filter, bool stages) {
  if (!selected(name, filter)) return;
  Pool pool;
  SsdInputs in(pool, s);
  in.p.impl = impl;
  const size_t ws_bytes = kernels::ssd_workspace_bytes(in.p);
  in.p.workspace = pool.alloc<unsigned char>(static_cast<int64_t>(ws_bytes));
  in.p.workspace_bytes = ws_bytes;
  if (const char* why = kernels::ssd_can_implement(in.p)) {
    std::printf("BENCH name=%s skipped=\"%s\"\n", name.c_str(), why);
    return;
  }
  const int iters = s.L >= 65536 || impl == kernels::SsdImpl::kRecurrent ? 7 : 20;
  const double us = time_us([&](int) { BENCH_CHECK(kernels::ssd_scan(in.p, nullptr)); }, iters);
  char extra[128];
  std::snprintf(extra, sizeof(extra), "L=%lld H=%d P=%d N=%d Q=%d workspace_mb=%.0f",
                static_cast<long long>(s.L), s.H, s.P, s.N, s.Q, ws_bytes / 1048576.0);
  report(name, us, ssd_flops(s), ssd_bytes(s), extra);
  if (!stages) return;

  // The five stages of the chunked scan timed one by one (same workspace layout as ssd.cu).
  namespace sd = kernels::ssd_detail;
  sd::SsdArgs a{};
  a.p = in.p;
  a.nchunks = (s.L + s.Q - 1) / s.Q;
  a.padded_len = a.nchunks * s.Q;
  a.heads_per_group = s.H / s.G;
  auto up = [](size_t x) { return (x + 255) / 256 * 256; };
  char* ws = static_cast<char*>(in.p.workspace);
  const size_t f = sizeof(float);
  a.dt = reinterpret_cast<float*>(ws);
  a.dA_cs = reinterpret_cast<float*>(ws + up(f * s.H * a.padded_len));
  a.cb = reinterpret_cast<float*>(ws + 2 * up(f * s.H * a.padded_len));
  const size_t states_off = 2 * up(f * s.H * a.padded_len) + up(f * a.nchunks * s.G * s.Q * s.Q);
  a.states = reinterpret_cast<float*>(ws + states_off);
  a.states_in = reinterpret_cast<__nv_bfloat16*>(ws + states_off +
                                                 up(f * a.nchunks * s.H * int64_t{s.P} * s.N));
  const bool ldsm = impl != kernels::SsdImpl::kChunkedLds;
  const struct {
    const char* stage;
    std::function<cudaError_t()> run;
  } stage_list[] = {
      {"cumsum", [&] { return sd::launch_ssd_cumsum(a, nullptr); }},
      {"bmm", [&] { return sd::launch_ssd_bmm(a, ldsm, nullptr); }},
      {"chunk_state", [&] { return sd::launch_ssd_chunk_state(a, ldsm, nullptr); }},
      {"state_passing", [&] { return sd::launch_ssd_state_passing(a, nullptr); }},
      {"chunk_scan", [&] { return sd::launch_ssd_chunk_scan(a, ldsm, nullptr); }},
  };
  for (const auto& st : stage_list) {
    const double sus = time_us([&](int) { BENCH_CHECK(st.run()); }, iters);
    std::printf("BENCH name=%s.%s time_us=%.2f share=%.2f\n", name.c_str(), st.stage, sus,
                sus / us);
  }
}

void bench_conv(const std::string& name, int64_t L, const char* filter) {
  if (!selected(name, filter)) return;
  Pool pool;
  const int64_t C = 7424, ld = 14704;  // conv_dim inside the in_proj output (7B)
  kernels::CausalConv1dParams p;
  const __nv_bfloat16* buf = pool.bf16(L * ld);
  p.x = buf + 7168;
  p.x_row_stride = ld;
  p.weight = pool.bf16(C * 4, 0.5f);
  p.bias = pool.bf16(C, 0.5f);
  float* state = pool.f32(3 * C, -1.0f, 1.0f);
  p.initial_state = state;
  p.final_state = state;
  p.y = pool.alloc<__nv_bfloat16>(L * C);
  p.y_row_stride = C;
  p.length = L;
  p.channels = C;
  p.width = 4;
  const double us = time_us([&](int) { BENCH_CHECK(kernels::causal_conv1d(p, nullptr)); }, 20);
  char extra[64];
  std::snprintf(extra, sizeof(extra), "L=%lld C=%lld", static_cast<long long>(L),
                static_cast<long long>(C));
  report(name, us, 2.0 * 4 * C * L, 2.0 * 2 * C * L, extra);
}

}  // namespace

// The few-row decode kernel (kernels/attention/decode_rows.h): `batch` sequences of one query,
// each over its own n_k keys (28 q heads, 4 kv heads, d 128); bytes = every sequence's K and V.
void bench_decode_rows(const std::string& name, int batch, int64_t n_k, const char* filter) {
  if (!selected(name, filter)) return;
  Pool pool;
  const int hq = 28, hkv = 4, d = 128;
  const double kv_bytes = 2.0 * 2.0 * batch * n_k * hkv * d;
  const int copies = static_cast<int>(std::max<double>(1, std::ceil(kRotateBytes / kv_bytes)));
  std::vector<kernels::DecodeRowsParams> ps;
  for (int c = 0; c < copies; ++c) {
    kernels::DecodeRowsParams p;
    p.q = pool.bf16(int64_t{batch} * hq * d);
    p.o = pool.alloc<__nv_bfloat16>(int64_t{batch} * hq * d);
    for (int b = 0; b < batch; ++b) {
      p.k[b] = pool.bf16(n_k * hkv * d);
      p.v[b] = pool.bf16(n_k * hkv * d);
      p.kv_len[b] = n_k;
    }
    p.batch = batch;
    p.num_heads = hq;
    p.num_kv_heads = hkv;
    p.head_dim = d;
    p.scale = 1.0f / std::sqrt(static_cast<float>(d));
    const kernels::DecodeRowsPlan plan = kernels::decode_rows_plan(p);
    p.num_splits = plan.num_splits;
    p.workspace = pool.alloc<unsigned char>(static_cast<int64_t>(plan.workspace_bytes));
    p.workspace_bytes = plan.workspace_bytes;
    if (const char* why = kernels::decode_rows_can_implement(p)) {
      std::printf("BENCH name=%s skipped=\"%s\"\n", name.c_str(), why);
      return;
    }
    ps.push_back(p);
  }
  const double us = time_us(
      [&](int i) { BENCH_CHECK(kernels::decode_rows_attention(ps[i % copies], nullptr)); }, 20);
  const double flops = 4.0 * d * hq * n_k * batch;
  report(name, us, flops, kv_bytes,
         "batch=" + std::to_string(batch) + " n_k=" + std::to_string(n_k) +
             " splits=" + std::to_string(ps[0].num_splits));
}

// Random e4m3 codes, never the NaN codes 0x7f / 0xff.
__global__ void fill_e4m3(uint8_t* p, int64_t n, uint32_t seed) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    uint8_t c = static_cast<uint8_t>((hash_unit(i, seed) * 0.5f + 0.5f) * 256.0f);
    if ((c & 0x7f) == 0x7f) c ^= 1;
    p[i] = c;
  }
}

// The few-row cross-attention decode kernel (kernels/attention/cross_decode.h): n_q queries (one
// per sequence of a batch over the same video; 28 q heads, 4 kv heads, d 128) over n_k video keys
// in bf16 or fp8 e4m3 (+ block scales). Bytes: K, V (and scales), q and o once.
void bench_cross_decode(const std::string& name, int64_t n_q, int64_t n_k, bool fp8,
                        const char* filter, int num_splits = 0) {
  if (!selected(name, filter)) return;
  Pool pool;
  const int hq = 28, hkv = 4, d = 128;
  const int64_t kv_elems = n_k * hkv * d;
  const int64_t scale_elems =
      (n_k + kernels::kCrossDecodeScaleTokens - 1) / kernels::kCrossDecodeScaleTokens * hkv;
  const double kv_bytes = fp8 ? 2.0 * (kv_elems + 4.0 * scale_elems) : 2.0 * 2.0 * kv_elems;
  const double bytes = kv_bytes + 2.0 * 2.0 * n_q * hq * d;
  const int copies = static_cast<int>(std::max<double>(1, std::ceil(kRotateBytes / kv_bytes)));
  std::vector<kernels::CrossDecodeParams> ps;
  uint32_t seed = 1000;
  for (int c = 0; c < copies; ++c) {
    kernels::CrossDecodeParams p;
    p.q = pool.bf16(n_q * hq * d);
    p.o = pool.alloc<__nv_bfloat16>(n_q * hq * d);
    if (fp8) {
      for (const void** dst : {&p.k, &p.v}) {
        uint8_t* codes = pool.alloc<uint8_t>(kv_elems);
        fill_e4m3<<<1024, 256>>>(codes, kv_elems, seed++);
        BENCH_CHECK(cudaGetLastError());
        *dst = codes;
      }
      p.k_scales = pool.f32(scale_elems, 1e-3f, 1e-2f);
      p.v_scales = pool.f32(scale_elems, 1e-3f, 1e-2f);
      p.kv_type = kernels::CrossDecodeKv::kFp8E4M3;
    } else {
      p.k = pool.bf16(kv_elems);
      p.v = pool.bf16(kv_elems);
    }
    p.q_token_stride = p.o_token_stride = int64_t{hq} * d;
    p.q_head_stride = p.o_head_stride = d;
    p.k_token_stride = p.v_token_stride = int64_t{hkv} * d;
    p.k_head_stride = p.v_head_stride = d;
    p.num_heads = hq;
    p.num_kv_heads = hkv;
    p.head_dim = d;
    p.q_len = n_q;
    p.kv_len = n_k;
    p.scale = 1.0f / std::sqrt(static_cast<float>(d));
    p.num_splits = num_splits;
    if (const char* why = kernels::cross_decode_can_implement(p)) {
      std::printf("BENCH name=%s skipped=\"%s\"\n", name.c_str(), why);
      return;
    }
    const kernels::CrossDecodePlan plan = kernels::cross_decode_plan(p);
    p.num_splits = plan.num_splits;
    p.workspace = pool.alloc<unsigned char>(static_cast<int64_t>(plan.workspace_bytes));
    p.workspace_bytes = plan.workspace_bytes;
    ps.push_back(p);
  }
  const double us = time_us(
      [&](int i) { BENCH_CHECK(kernels::cross_decode_attention(ps[i % copies], nullptr)); }, 20);
  report(name, us, 4.0 * d * hq * n_q * n_k, bytes,
         "n_q=" + std::to_string(n_q) + " n_k=" + std::to_string(n_k) +
             " kv=" + (fp8 ? "fp8" : "bf16") + " splits=" + std::to_string(ps[0].num_splits));
}

int main(int argc, char** argv) {
  const char* filter = argc > 1 ? argv[1] : nullptr;
  cudaDeviceProp prop{};
  BENCH_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("# seq_bench on %s (%d SMs, L2 %d MB)\n", prop.name, prop.multiProcessorCount,
              prop.l2CacheSize >> 20);

  using kernels::AttentionImpl;
  using kernels::SsdImpl;
  // Mamba-2 SSD scan, 7B widths: H 112, P 64, N 128, G 1, chunk 256.
  bench_ssd("ssd_chunked_L16384", {16384, 112, 64, 1, 128, 256}, SsdImpl::kChunked, filter, false);
  bench_ssd("ssd_chunked_L131072", {131072, 112, 64, 1, 128, 256}, SsdImpl::kChunked, filter, true);
  // The previous scan stage (one block per head and row tile), to compare against.
  bench_ssd("ssd_chunked_per_head_L131072", {131072, 112, 64, 1, 128, 256},
            SsdImpl::kChunkedPerHead, filter, true);
  bench_ssd("ssd_chunked_lds_L131072", {131072, 112, 64, 1, 128, 256}, SsdImpl::kChunkedLds, filter,
            false);
  bench_ssd("ssd_recurrent_L16384", {16384, 112, 64, 1, 128, 256}, SsdImpl::kRecurrent, filter,
            false);
  bench_ssd("ssd_step_decode", {1, 112, 64, 1, 128, 256}, SsdImpl::kRecurrent, filter, false);
  bench_conv("conv_L131072", 131072, filter);

  // Cross attention: 64 text queries over the video keys (28 q heads, 4 kv heads, d 128).
  for (int64_t nk : {16384, 131072, 524288}) {
    bench_attention("cross_attn_q64_k" + std::to_string(nk), {64, nk, 28, 4, 128, false, {}},
                    filter);
  }
  bench_attention("cross_attn_lds_q64_k131072", {64, 131072, 28, 4, 128, false, {}}, filter,
                  AttentionImpl::kTensorCoreLds);
  for (int splits : {1, 8, 32, 64}) {  // the split heuristic against fixed counts
    bench_attention("cross_attn_q64_k131072_splits" + std::to_string(splits),
                    {64, 131072, 28, 4, 128, false, {}}, filter, AttentionImpl::kAuto, splits);
  }
  // One decode step's cross attention (1 query, or a batch of 2 / 16 over one video): the flash
  // kernel against the few-row kernel (bf16 and fp8 K/V), and its split count around the plan.
  for (int64_t nk : {16384, 131072, 524288}) {
    const std::string k = "_k" + std::to_string(nk);
    bench_attention("cross_attn_q1" + k, {1, nk, 28, 4, 128, false, {}}, filter);
    bench_cross_decode("cross_decode_q1" + k, 1, nk, false, filter);
    bench_cross_decode("cross_decode_fp8_q1" + k, 1, nk, true, filter);
    bench_cross_decode("cross_decode_q2" + k, 2, nk, false, filter);
    bench_cross_decode("cross_decode_q16" + k, 16, nk, false, filter);
  }
  bench_attention("cross_attn_q16_k131072", {16, 131072, 28, 4, 128, false, {}}, filter);
  for (int splits : {32, 132, 264}) {
    bench_cross_decode("cross_decode_q1_k131072_splits" + std::to_string(splits), 1, 131072, false,
                       filter, splits);
  }
  bench_attention("cross_attn_q256_k131072", {256, 131072, 28, 4, 128, false, {}}, filter);
  // The same one-query decode on the few-row kernel (what decode steps use), and a batch of 8
  // sequences each over its own text cache (batched self-attention decode).
  for (int64_t nk : {16384, 131072, 524288}) {
    bench_decode_rows("decode_rows_q1_k" + std::to_string(nk), 1, nk, filter);
  }
  bench_decode_rows("decode_rows_b8_k1024", 8, 1024, filter);
  bench_decode_rows("decode_rows_b1_k1024", 1, 1024, filter);
  // Causal text prefill and decode against the text KV cache.
  for (int64_t n : {2048, 8192}) {
    bench_attention("prefill_attn_n" + std::to_string(n), {n, n, 28, 4, 128, true, {}}, filter);
  }
  for (int64_t nk : {1024, 8192, 32768}) {
    bench_attention("decode_attn_q1_k" + std::to_string(nk), {1, nk, 28, 4, 128, true, {}}, filter);
  }
  // The real vision tower: 16 heads of 80, attention inside 8 frame pairs of 1296 patches.
  {
    std::vector<int64_t> cu;
    for (int i = 0; i <= 8; ++i) cu.push_back(1296 * i);
    bench_attention("vision_attn_8x1296", {cu.back(), cu.back(), 16, 16, 80, false, cu}, filter);
  }
  return 0;
}
