// The dense ops' CUDA backend (engine/ops/dense_cuda.cc) through the tensor-level op layer: the
// same op on CUDA (bf16) and on the CPU (f32, on the bf16-rounded inputs) must agree. The kernels
// are tested in depth by the other dense_* tests; this checks the wiring (shapes, dtypes, pointers,
// which tensor is which) for every backend entry point on the tiny checkpoint's shapes.
#include <gtest/gtest.h>

#include "engine/ops/ops.h"
#include "tests/kernels_cuda/dense_test_util.h"

namespace vamba::testing::dense {
namespace {

class DenseOps : public ::testing::Test {
 protected:
  void SetUp() override {
    VAMBA_SKIP_WITHOUT_GPU();
    auto s = Stream::create(Device::cuda(0));
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    stream_ = std::move(*s);
  }

  // A random tensor as a pair: bf16 on the GPU and the same (rounded) values in f32 on the CPU.
  struct Pair {
    Tensor gpu, cpu;
  };
  Pair random(const Shape& shape, uint64_t seed, float scale = 1.0f, float mean = 0.0f) {
    const Bf16Host h = random_bf16(static_cast<size_t>(shape_numel(shape)), seed, scale, mean);
    Pair p;
    auto cpu = Tensor::from_floats(shape, h.values, DType::kF32);
    auto bf = Tensor::from_floats(shape, h.values, DType::kBF16);
    EXPECT_TRUE(cpu.ok() && bf.ok());
    p.cpu = *cpu;
    auto gpu = bf->to(Device::cuda(0), &stream_);
    EXPECT_TRUE(gpu.ok());
    p.gpu = *gpu;
    EXPECT_TRUE(stream_.synchronize().ok());
    return p;
  }

  // A poisoned (NaN) bf16 output on the GPU, so unwritten elements fail the comparison.
  Tensor poisoned(const Shape& shape, DType dtype = DType::kBF16) {
    auto t = Tensor::empty(shape, dtype, Device::cuda(0));
    EXPECT_TRUE(t.ok());
    EXPECT_EQ(cudaMemset(t->raw_data(), 0xff, t->nbytes()), cudaSuccess);
    // The memset runs on the legacy stream, which a non-blocking stream_ does not wait for.
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    return *t;
  }

  double compare(const Tensor& gpu, const Tensor& cpu) {
    EXPECT_TRUE(stream_.synchronize().ok());  // the read-back below does not order on stream_
    auto a = gpu.to_float_vector();
    auto b = cpu.to_float_vector();
    EXPECT_TRUE(a.ok() && b.ok());
    return rel_l2(*a, *b);
  }

  Stream stream_;
  const Stream cpu_stream_;
};

TEST_F(DenseOps, LinearNormsAndActivations) {
  const int64_t n = 28, h = 128, inter = 256;
  Pair x = random({n, h}, 1), w = random({inter, h}, 2, 0.09f), b = random({inter}, 3);
  Pair nw = random({h}, 4, 0.2f, 1.0f), nb = random({h}, 5);

  Tensor yg = poisoned({n, inter}), yc;
  ASSERT_TRUE(ops::linear(x.gpu, w.gpu, b.gpu, &yg, stream_).ok());
  ASSERT_TRUE(ops::linear(x.cpu, w.cpu, b.cpu, &yc, cpu_stream_).ok());
  EXPECT_LT(compare(yg, yc), kBf16OutTol);

  Tensor lg = poisoned({n, inter}, DType::kF32), lc;  // f32 logits from bf16 inputs
  ASSERT_TRUE(ops::linear(x.gpu, w.gpu, Tensor(), &lg, stream_).ok());
  ASSERT_TRUE(ops::linear(x.cpu, w.cpu, Tensor(), &lc, cpu_stream_).ok());
  EXPECT_LT(compare(lg, lc), kF32OutTol);

  Tensor rg = poisoned({n, h}), rc;
  ASSERT_TRUE(ops::rms_norm(x.gpu, nw.gpu, 1e-6f, &rg, stream_).ok());
  ASSERT_TRUE(ops::rms_norm(x.cpu, nw.cpu, 1e-6f, &rc, cpu_stream_).ok());
  EXPECT_LT(compare(rg, rc), kBf16OutTol);

  Tensor ng = poisoned({n, h}), nc;
  ASSERT_TRUE(ops::layer_norm(x.gpu, nw.gpu, nb.gpu, 1e-6f, &ng, stream_).ok());
  ASSERT_TRUE(ops::layer_norm(x.cpu, nw.cpu, nb.cpu, 1e-6f, &nc, cpu_stream_).ok());
  EXPECT_LT(compare(ng, nc), kBf16OutTol);

  Pair res = random({n, h}, 6, 3.0f);
  Tensor ag = poisoned({n, h}), ac;
  ASSERT_TRUE(ops::add_rms_norm(&res.gpu, x.gpu, nw.gpu, 1e-6f, &ag, stream_).ok());
  ASSERT_TRUE(ops::add_rms_norm(&res.cpu, x.cpu, nw.cpu, 1e-6f, &ac, cpu_stream_).ok());
  EXPECT_LT(compare(res.gpu, res.cpu), kBf16OutTol);
  EXPECT_LT(compare(ag, ac), kBf16TwiceTol);

  Pair g = random({n, inter}, 7, 2.0f), u = random({n, inter}, 8);
  Tensor sg = poisoned({n, inter}), sc;
  ASSERT_TRUE(ops::silu_mul(g.gpu, u.gpu, &sg, stream_).ok());
  ASSERT_TRUE(ops::silu_mul(g.cpu, u.cpu, &sc, cpu_stream_).ok());
  EXPECT_LT(compare(sg, sc), kBf16OutTol);

  Tensor qg = poisoned({n, inter}), qc;
  ASSERT_TRUE(ops::quick_gelu(g.gpu, &qg, stream_).ok());
  ASSERT_TRUE(ops::quick_gelu(g.cpu, &qc, cpu_stream_).ok());
  EXPECT_LT(compare(qg, qc), kBf16OutTol);

  Tensor eg = poisoned({n, inter}), ec;
  ASSERT_TRUE(ops::gelu(g.gpu, &eg, stream_).ok());
  ASSERT_TRUE(ops::gelu(g.cpu, &ec, cpu_stream_).ok());
  EXPECT_LT(compare(eg, ec), kBf16OutTol);

  Tensor dg = poisoned({n, inter}), dc;
  ASSERT_TRUE(ops::add(g.gpu, u.gpu, &dg, stream_).ok());
  ASSERT_TRUE(ops::add(g.cpu, u.cpu, &dc, cpu_stream_).ok());
  EXPECT_LT(compare(dg, dc), kBf16OutTol);

  Pair hh = random({n, h}, 9, 3.0f), s = random({n, h}, 10), c = random({n, h}, 11);
  ASSERT_TRUE(ops::residual_blend(&hh.gpu, s.gpu, c.gpu, 0.25f, 0.75f, stream_).ok());
  ASSERT_TRUE(ops::residual_blend(&hh.cpu, s.cpu, c.cpu, 0.25f, 0.75f, cpu_stream_).ok());
  EXPECT_LT(compare(hh.gpu, hh.cpu), kBf16OutTol);

  Tensor fg = poisoned({n, h}, DType::kF32), bg = poisoned({n, h});
  ASSERT_TRUE(ops::cast(x.gpu, DType::kF32, &fg, stream_).ok());
  ASSERT_TRUE(ops::cast(fg, DType::kBF16, &bg, stream_).ok());
  EXPECT_EQ(compare(fg, x.cpu), 0.0);  // bf16 -> f32 -> bf16 is exact
  EXPECT_EQ(compare(bg, x.cpu), 0.0);
  ASSERT_TRUE(stream_.synchronize().ok());
}

// The fused decode forms (one tensor-core launch for ≤ 16 rows, separate products beyond) against
// the CPU op, at decode and prefill row counts.
TEST_F(DenseOps, FusedLinearForms) {
  const int64_t h = 128, q = 96, kv = 32, inter = 256;
  Pair w = random({q + 2 * kv, h}, 21, 0.09f), b = random({q + 2 * kv}, 22);
  Pair wg = random({inter, h}, 23, 0.09f), wu = random({inter, h}, 24, 0.09f);
  for (const int64_t n : {int64_t{1}, int64_t{5}, int64_t{16}, int64_t{40}}) {
    SCOPED_TRACE("rows " + std::to_string(n));
    Pair x = random({n, h}, 25 + n);
    std::vector<Tensor> yg = {poisoned({n, q}), poisoned({n, kv}), poisoned({n, kv})}, yc;
    ASSERT_TRUE(ops::linear_split(x.gpu, w.gpu, b.gpu, {q, kv, kv}, &yg, stream_).ok());
    ASSERT_TRUE(ops::linear_split(x.cpu, w.cpu, b.cpu, {q, kv, kv}, &yc, cpu_stream_).ok());
    for (int i = 0; i < 3; ++i) EXPECT_LT(compare(yg[i], yc[i]), kBf16OutTol) << "part " << i;
    Tensor ag = poisoned({n, inter}), ac;
    ASSERT_TRUE(ops::linear_swiglu(x.gpu, wg.gpu, wu.gpu, &ag, stream_).ok());
    ASSERT_TRUE(ops::linear_swiglu(x.cpu, wg.cpu, wu.cpu, &ac, cpu_stream_).ok());
    EXPECT_LT(compare(ag, ac), kBf16TwiceTol);  // the unfused path rounds gate and up first
    Pair x2 = random({n, h}, 45 + n), hh = random({n, h}, 65 + n, 3.0f);
    Pair wo = random({h, h}, 26, 0.09f), wo2 = random({h, h}, 27, 0.09f);
    ASSERT_TRUE(
        ops::linear_pair_residual(x.gpu, wo.gpu, x2.gpu, wo2.gpu, 0.3f, 0.7f, &hh.gpu, stream_)
            .ok());
    ASSERT_TRUE(
        ops::linear_pair_residual(x.cpu, wo.cpu, x2.cpu, wo2.cpu, 0.3f, 0.7f, &hh.cpu, cpu_stream_)
            .ok());
    EXPECT_LT(compare(hh.gpu, hh.cpu), kBf16TwiceTol);
  }
}

TEST_F(DenseOps, EmbeddingRotaryAndGatedNorm) {
  const int64_t vocab = 1000, dim = 128, n = 28;
  Pair table = random({vocab, dim}, 20);
  std::vector<int64_t> ids(n);
  for (int64_t i = 0; i < n; ++i) ids[i] = (i * 37 + 11) % vocab;
  auto ids_cpu = Tensor::from_int64({n}, ids);
  ASSERT_TRUE(ids_cpu.ok());
  auto ids_gpu = ids_cpu->to(Device::cuda(0), &stream_);
  ASSERT_TRUE(ids_gpu.ok());
  Tensor eg = poisoned({n, dim}), ec;
  ASSERT_TRUE(ops::embedding(table.gpu, *ids_gpu, &eg, stream_).ok());
  ASSERT_TRUE(ops::embedding(table.cpu, *ids_cpu, &ec, cpu_stream_).ok());
  EXPECT_EQ(compare(eg, ec), 0.0);

  // Text M-RoPE tables (the tiny checkpoint's sections) on q (n, 4, 32).
  auto tg = ops::text_rope_tables(5, n, 32, {4, 6, 6}, 1e6f, Device::cuda(0), stream_);
  auto tc = ops::text_rope_tables(5, n, 32, {4, 6, 6}, 1e6f, Device::cpu(), cpu_stream_);
  ASSERT_TRUE(tg.ok() && tc.ok()) << tg.status().to_string();
  Pair q = random({n, 4, 32}, 21);
  ASSERT_TRUE(ops::apply_rotary(&q.gpu, tg->cos, tg->sin, stream_).ok());
  ASSERT_TRUE(ops::apply_rotary(&q.cpu, tc->cos, tc->sin, cpu_stream_).ok());
  EXPECT_LT(compare(q.gpu, q.cpu), kBf16OutTol);
  // q and k in one launch (the decode step's form) against one after the other on the CPU.
  Pair q2 = random({n, 4, 32}, 22), k2 = random({n, 2, 32}, 23);
  ASSERT_TRUE(ops::apply_rotary_qk(&q2.gpu, &k2.gpu, tg->cos, tg->sin, stream_).ok());
  ASSERT_TRUE(ops::apply_rotary_qk(&q2.cpu, &k2.cpu, tc->cos, tc->sin, cpu_stream_).ok());
  EXPECT_LT(compare(q2.gpu, q2.cpu), kBf16OutTol);
  EXPECT_LT(compare(k2.gpu, k2.cpu), kBf16OutTol);

  ops::MambaDims dims;
  dims.d_inner = 256;
  dims.nheads = 8;
  dims.headdim = 32;
  dims.ngroups = 1;
  dims.dstate = 16;
  dims.d_conv = 4;
  const int64_t L = 128;
  Pair y = random({L, dims.d_inner}, 22), zx = random({L, dims.in_proj_dim()}, 23, 2.0f);
  Pair w = random({dims.d_inner}, 24, 0.2f, 1.0f);
  for (const bool before : {false, true}) {
    Tensor og = poisoned({L, dims.d_inner}), oc;
    ASSERT_TRUE(
        ops::mamba_gated_norm(y.gpu, zx.gpu, w.gpu, dims, before, 1e-5f, &og, stream_).ok());
    ASSERT_TRUE(
        ops::mamba_gated_norm(y.cpu, zx.cpu, w.cpu, dims, before, 1e-5f, &oc, cpu_stream_).ok());
    EXPECT_LT(compare(og, oc), kBf16OutTol);
  }
}

TEST_F(DenseOps, Selection) {
  const int64_t vocab = 152064;
  Pair logits = random({1, vocab}, 30, 3.0f);
  auto ag = ops::argmax(logits.gpu, stream_);
  auto ac = ops::argmax(logits.cpu, cpu_stream_);
  ASSERT_TRUE(ag.ok() && ac.ok()) << ag.status().to_string();
  EXPECT_EQ(*ag, *ac);

  Pair batch = random({5, vocab}, 31, 3.0f);  // a decode batch's rows: one launch, one copy
  auto bg = ops::argmax_rows(batch.gpu, stream_);
  auto bc = ops::argmax_rows(batch.cpu, cpu_stream_);
  ASSERT_TRUE(bg.ok() && bc.ok()) << bg.status().to_string();
  EXPECT_EQ(*bg, *bc);

  std::vector<float> vg, vc;
  std::vector<int64_t> ig, ic;
  ASSERT_TRUE(ops::top_k(logits.gpu, 20, &vg, &ig, stream_).ok());
  ASSERT_TRUE(ops::top_k(logits.cpu, 20, &vc, &ic, cpu_stream_).ok());
  EXPECT_EQ(ig, ic);
  EXPECT_EQ(vg, vc);

  ops::SamplingParams sp;
  sp.temperature = 0.8f;
  sp.top_k = 40;
  sp.top_p = 0.9f;
  for (const double u : {0.0, 0.123, 0.5, 0.987}) {
    auto sg = ops::sample(logits.gpu, sp, u, stream_);
    auto sc = ops::sample(logits.cpu, sp, u, cpu_stream_);
    ASSERT_TRUE(sg.ok() && sc.ok()) << sg.status().to_string();
    EXPECT_EQ(*sg, *sc) << "u=" << u;
  }
  sp.temperature = 0.0f;  // greedy
  auto greedy = ops::sample(logits.gpu, sp, 0.5, stream_);
  ASSERT_TRUE(greedy.ok());
  EXPECT_EQ(*greedy, *ac);
}

}  // namespace
}  // namespace vamba::testing::dense
