// The sequence-mixing ops' CUDA backend (engine/ops/seq_cuda.cc) through the tensor-level op layer:
// the same op on CUDA (bf16) and on the CPU (f32, on the bf16-rounded inputs) must agree. The
// kernels are tested in depth by seq_attention/ssd/conv_test; this checks the wiring: which columns
// of zxbcdt feed conv, dt and the scan, states carried in place, cu_seqlens uploaded, the KV
// cache's capacity, scratch allocation, and the SSD op's pieces (> 32K tokens). GPU only (label
// gpu).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "engine/ops/ops.h"
#include "engine/state/kv_buffer.h"
#include "tests/kernels_cuda/seq_test_util.h"

namespace vamba::seqtest {
namespace {

class SeqOps : public ::testing::Test {
 protected:
  void SetUp() override {
    VAMBA_SKIP_WITHOUT_GPU();
    auto s = Stream::create(Device::cuda(0));
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    stream_ = std::move(*s);
  }

  // The same random values as bf16 on the GPU and f32 on the CPU; f32 on both when `f32` is set.
  struct Pair {
    Tensor gpu, cpu;
  };
  Pair random(const Shape& shape, uint32_t seed, float stddev = 1.0f, bool f32 = false) {
    std::mt19937 rng(seed);
    const std::vector<float> v =
        random_bf16_values(static_cast<size_t>(shape_numel(shape)), rng, stddev);
    return from_values(shape, v, f32);
  }
  Pair from_values(const Shape& shape, const std::vector<float>& v, bool f32) {
    Pair p;
    auto cpu = Tensor::from_floats(shape, v, DType::kF32);
    auto dev = Tensor::from_floats(shape, v, f32 ? DType::kF32 : DType::kBF16);
    EXPECT_TRUE(cpu.ok() && dev.ok());
    p.cpu = *cpu;
    auto gpu = dev->to(Device::cuda(0), &stream_);
    EXPECT_TRUE(gpu.ok());
    p.gpu = *gpu;
    EXPECT_TRUE(stream_.synchronize().ok());
    return p;
  }
  Tensor poisoned(const Shape& shape, DType dtype = DType::kBF16) {
    auto t = Tensor::empty(shape, dtype, Device::cuda(0));
    EXPECT_TRUE(t.ok());
    dev_fill_bytes(t->raw_data(), 0xff, t->nbytes());
    return *t;
  }
  double compare(const Tensor& gpu, const Tensor& cpu) {
    EXPECT_TRUE(stream_.synchronize().ok());
    auto a = gpu.to_float_vector();
    auto b = cpu.to_float_vector();
    EXPECT_TRUE(a.ok() && b.ok());
    return testing::rel_l2(*a, *b);
  }

  Stream stream_;
  const Stream cpu_stream_;
};

// Tolerances as in seq_attention_test / seq_ssd_test (bf16 output rounding ≈ 1.5e-3 rms, plus the
// tensor-core kernels' bf16 operands).
constexpr double kAttnTol = 5e-3;
constexpr double kSsdTol = 5e-3;
constexpr double kConvTol = 3e-3;

TEST_F(SeqOps, AttentionEntryPoints) {
  const int64_t n = 150, hq = 4, hkv = 2, d = 32;
  Pair q = random({n, hq, d}, 1), k = random({n, hkv, d}, 2), v = random({n, hkv, d}, 3);

  ops::AttentionOptions causal;
  causal.causal = true;
  Tensor og = poisoned({n, hq, d}), oc;
  ASSERT_TRUE(ops::attention(q.gpu, k.gpu, v.gpu, causal, &og, stream_).ok());
  ASSERT_TRUE(ops::attention(q.cpu, k.cpu, v.cpu, causal, &oc, cpu_stream_).ok());
  const double e_causal = compare(og, oc);
  EXPECT_LT(e_causal, kAttnTol);

  ops::AttentionOptions seg;  // the vision tower's temporal groups
  seg.cu_seqlens = {0, 40, 41, 100, 150};
  Pair vq = random({n, 4, 16}, 4), vk = random({n, 4, 16}, 5), vv = random({n, 4, 16}, 6);
  Tensor sg = poisoned({n, 4, 16}), sc;
  ASSERT_TRUE(ops::attention(vq.gpu, vk.gpu, vv.gpu, seg, &sg, stream_).ok());
  ASSERT_TRUE(ops::attention(vq.cpu, vk.cpu, vv.cpu, seg, &sc, cpu_stream_).ok());
  const double e_seg = compare(sg, sc);
  EXPECT_LT(e_seg, kAttnTol);

  const int64_t nk = 9000;  // video keys
  Pair xk = random({nk, hkv, d}, 7), xv = random({nk, hkv, d}, 8);
  Tensor cg = poisoned({n, hq, d}), cc;
  ASSERT_TRUE(ops::cross_attention(q.gpu, xk.gpu, xv.gpu, 0.0f, &cg, stream_).ok());
  ASSERT_TRUE(ops::cross_attention(q.cpu, xk.cpu, xv.cpu, 0.0f, &cc, cpu_stream_).ok());
  const double e_cross = compare(cg, cc);
  EXPECT_LT(e_cross, kAttnTol);

  // Decode: 3 new queries against a cache of capacity 400 holding 260 keys.
  Pair dq = random({3, hq, d}, 9), kc = random({400, hkv, d}, 10), vc = random({400, hkv, d}, 11);
  Tensor dg = poisoned({3, hq, d}), dc;
  ASSERT_TRUE(ops::decode_attention(dq.gpu, kc.gpu, vc.gpu, 260, 0.0f, &dg, stream_).ok());
  ASSERT_TRUE(ops::decode_attention(dq.cpu, kc.cpu, vc.cpu, 260, 0.0f, &dc, cpu_stream_).ok());
  const double e_decode = compare(dg, dc);
  EXPECT_LT(e_decode, kAttnTol);
  std::printf("seq-parity ops attention causal=%.3e segments=%.3e cross=%.3e decode=%.3e\n",
              e_causal, e_seg, e_cross, e_decode);
}

// Decode-step cross attention read straight from an fp8 video store (codes + block scales) against
// the same store dequantized and attended on the CPU, at the 7B head shape (one and eight queries;
// 9,000 keys: a partly filled last 64-token block) and the tiny one.
TEST_F(SeqOps, CrossAttentionFromAnFp8Store) {
  struct Shape3 {
    int64_t hq, hkv, d, nq;
  };
  for (const Shape3 c : {Shape3{28, 4, 128, 1}, Shape3{28, 4, 128, 8}, Shape3{4, 2, 32, 3}}) {
    SCOPED_TRACE("hq " + std::to_string(c.hq) + " nq " + std::to_string(c.nq));
    const int64_t nk = 9000;
    Pair k = random({nk, c.hkv, c.d}, 21), v = random({nk, c.hkv, c.d}, 22);
    Pair q = random({c.nq, c.hq, c.d}, 23);
    KvBuffer gpu_kv(c.hkv, c.d, DType::kBF16, Device::cuda(0), KvStore::kFp8E4M3);
    KvBuffer cpu_kv(c.hkv, c.d, DType::kF32, Device::cpu(), KvStore::kFp8E4M3);
    ASSERT_TRUE(gpu_kv.append(k.gpu, v.gpu, stream_).ok());
    ASSERT_TRUE(cpu_kv.append(k.cpu, v.cpu, cpu_stream_).ok());
    Tensor og = poisoned({c.nq, c.hq, c.d});
    bool ran = false;
    ASSERT_TRUE(ops::cross_attention_fp8(q.gpu, gpu_kv.key_storage(), gpu_kv.value_storage(),
                                         gpu_kv.key_scales(), gpu_kv.value_scales(),
                                         gpu_kv.length(), 0.0f, &og, stream_, &ran)
                    .ok());
    ASSERT_TRUE(ran) << "the few-row kernel should take decode shapes";
    Tensor kc, vc, oc;
    ASSERT_TRUE(cpu_kv.read(&kc, &vc, cpu_stream_).ok());
    ASSERT_TRUE(ops::cross_attention(q.cpu, kc, vc, 0.0f, &oc, cpu_stream_).ok());
    const double err = compare(og, oc);
    std::printf("seq-parity ops cross_attention_fp8 hq=%lld nq=%lld rel_l2=%.3e\n",
                static_cast<long long>(c.hq), static_cast<long long>(c.nq), err);
    EXPECT_LT(err, kAttnTol);
  }
}

// The mixer's sequence path on the tiny model's widths: conv (state carried), dt, SSD scan (state
// carried), in two calls, against the CPU ops.
TEST_F(SeqOps, MambaPathCarriesStates) {
  ops::MambaDims dims;
  dims.d_inner = 256;
  dims.nheads = 8;
  dims.headdim = 32;
  dims.ngroups = 1;
  dims.dstate = 16;
  dims.d_conv = 4;
  dims.chunk_size = 64;
  const int64_t W = dims.d_conv, Cd = dims.conv_dim(), H = dims.nheads;
  Pair conv_w = random({Cd, W}, 20, 0.5f), conv_b = random({Cd}, 21, 0.5f);
  std::mt19937 rng(22);
  std::vector<float> bias, a, dd;
  for (float x : random_uniform(H, rng, std::log(1e-3f), std::log(0.1f))) {
    bias.push_back(std::log(std::expm1(std::exp(x))));
  }
  for (float x : random_uniform(H, rng, 1.0f, 16.0f)) a.push_back(-x);
  dd = random_bf16_values(H, rng);
  Pair dt_bias = from_values({H}, bias, true), A = from_values({H}, a, true),
       D = from_values({H}, dd, true);
  Pair conv_state = random({W - 1, Cd}, 23, 1.0f, true);
  Pair ssm_state = random({H, dims.headdim, dims.dstate}, 24, 0.5f, true);

  // Two calls (a prompt piece, then a longer one crossing the op's 32K-token pieces).
  uint32_t seed = 30;
  for (int64_t L : {int64_t{77}, int64_t{33000}}) {
    SCOPED_TRACE("L = " + std::to_string(L));
    Pair zx = random({L, dims.in_proj_dim()}, seed++);
    Tensor xg = poisoned({L, Cd}), xc;
    ASSERT_TRUE(
        ops::mamba_conv(zx.gpu, conv_w.gpu, conv_b.gpu, dims, &conv_state.gpu, &xg, stream_).ok());
    ASSERT_TRUE(
        ops::mamba_conv(zx.cpu, conv_w.cpu, conv_b.cpu, dims, &conv_state.cpu, &xc, cpu_stream_)
            .ok());
    const double e_conv = compare(xg, xc), e_cstate = compare(conv_state.gpu, conv_state.cpu);
    EXPECT_LT(e_conv, kConvTol);
    EXPECT_LT(e_cstate, kConvTol);

    Tensor dtg = poisoned({L, H}, DType::kF32), dtc;
    ASSERT_TRUE(ops::mamba_dt(zx.gpu, dt_bias.gpu, dims, 0.0f, INFINITY, &dtg, stream_).ok());
    ASSERT_TRUE(ops::mamba_dt(zx.cpu, dt_bias.cpu, dims, 0.0f, INFINITY, &dtc, cpu_stream_).ok());
    const double e_dt = compare(dtg, dtc);
    EXPECT_LT(e_dt, 1e-5);

    // The scan reads the GPU's xbc on both sides (so only the scan's own error is measured).
    auto xbc_values = xg.to_float_vector();
    ASSERT_TRUE(xbc_values.ok());
    auto xbc_cpu = Tensor::from_floats({L, Cd}, *xbc_values, DType::kF32);
    auto dt_values = dtg.to_float_vector();
    ASSERT_TRUE(dt_values.ok());
    auto dt_cpu = Tensor::from_floats({L, H}, *dt_values, DType::kF32);
    ASSERT_TRUE(xbc_cpu.ok() && dt_cpu.ok());
    Tensor yg = poisoned({L, dims.d_inner}), yc;
    ASSERT_TRUE(ops::ssd_scan(xg, dtg, A.gpu, D.gpu, dims, &ssm_state.gpu, &yg, stream_).ok());
    ASSERT_TRUE(
        ops::ssd_scan(*xbc_cpu, *dt_cpu, A.cpu, D.cpu, dims, &ssm_state.cpu, &yc, cpu_stream_)
            .ok());
    const double e_y = compare(yg, yc), e_state = compare(ssm_state.gpu, ssm_state.cpu);
    EXPECT_LT(e_y, kSsdTol);
    EXPECT_LT(e_state, 5e-3);

    // And without a state: a sequence that starts here and keeps nothing.
    Tensor y0g = poisoned({L, dims.d_inner}), y0c;
    ASSERT_TRUE(ops::ssd_scan(xg, dtg, A.gpu, D.gpu, dims, nullptr, &y0g, stream_).ok());
    ASSERT_TRUE(
        ops::ssd_scan(*xbc_cpu, *dt_cpu, A.cpu, D.cpu, dims, nullptr, &y0c, cpu_stream_).ok());
    const double e_y0 = compare(y0g, y0c);
    EXPECT_LT(e_y0, kSsdTol);
    std::printf(
        "seq-parity ops mamba L=%lld conv=%.3e conv_state=%.3e dt=%.3e ssd_y=%.3e ssd_state=%.3e "
        "ssd_y_nostate=%.3e\n",
        static_cast<long long>(L), e_conv, e_cstate, e_dt, e_y, e_state, e_y0);
  }

  // Decode: one token through conv (update kernel) and the scan (recurrent step).
  Pair zx = random({1, dims.in_proj_dim()}, 40);
  Tensor xg = poisoned({1, Cd}), xc;
  ASSERT_TRUE(
      ops::mamba_conv(zx.gpu, conv_w.gpu, conv_b.gpu, dims, &conv_state.gpu, &xg, stream_).ok());
  ASSERT_TRUE(
      ops::mamba_conv(zx.cpu, conv_w.cpu, conv_b.cpu, dims, &conv_state.cpu, &xc, cpu_stream_)
          .ok());
  EXPECT_LT(compare(xg, xc), kConvTol);
  EXPECT_LT(compare(conv_state.gpu, conv_state.cpu), kConvTol);
}

}  // namespace
}  // namespace vamba::seqtest
