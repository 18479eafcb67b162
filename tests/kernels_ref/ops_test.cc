// The tensor-level op layer on the CPU: validation, the output-allocation contract, and the packed
// Mamba ops against the plain references on copied-out columns.
#include <gtest/gtest.h>

#include "engine/ops/cuda_backend.h"
#include "engine/ops/ops.h"
#include "kernels/reference/conv1d.h"
#include "kernels/reference/ssd.h"
#include "tests/kernels_ref/test_util.h"

namespace vamba::ops {
namespace {

namespace ref = kernels::reference;

Tensor tensor(const Shape& shape, uint64_t seed, float scale = 1.0f) {
  auto t = Tensor::from_floats(shape, ref::test::randn(shape_numel(shape), seed, scale));
  EXPECT_TRUE(t.ok());
  return *t;
}

std::vector<float> vec(const Tensor& t) { return *t.to_float_vector(); }

TEST(Ops, LinearAllocatesOrWritesIntoPreparedOutput) {
  const Stream s;
  const Tensor x = tensor({2, 3, 8}, 1), w = tensor({5, 8}, 2), b = tensor({5}, 3);
  Tensor y;
  ASSERT_TRUE(linear(x, w, b, &y, s).ok());
  EXPECT_EQ(y.shape(), (Shape{2, 3, 5}));
  auto pre = Tensor::zeros({2, 3, 5}, DType::kF32);
  ASSERT_TRUE(pre.ok());
  Tensor out = *pre;
  ASSERT_TRUE(linear(x, w, b, &out, s).ok());
  EXPECT_EQ(out.raw_data(), pre->raw_data());  // written in place
  EXPECT_EQ(vec(out), vec(y));
  Tensor wrong = *Tensor::zeros({6, 5}, DType::kF32);
  EXPECT_EQ(linear(x, w, b, &wrong, s).code(), StatusCode::kInvalidArgument);
}

// The fused decode forms equal what they replace: linear_split one linear per row range (with its
// bias slice), linear_swiglu silu(gate) · up; bad widths and shapes are refused.
TEST(Ops, FusedLinearFormsEqualTheirParts) {
  const Stream s;
  const Tensor x = tensor({3, 16}, 1), w = tensor({12, 16}, 2), b = tensor({12}, 3);
  std::vector<Tensor> ys;
  ASSERT_TRUE(linear_split(x, w, b, {6, 4, 2}, &ys, s).ok());
  ASSERT_EQ(ys.size(), 3u);
  int64_t row = 0;
  for (int i = 0; i < 3; ++i) {
    const int64_t n = ys[i].dim(1);
    Tensor part;
    ASSERT_TRUE(linear(x, *w.slice_rows(row, row + n), *b.slice_rows(row, row + n), &part, s).ok());
    EXPECT_EQ(vec(ys[i]), vec(part)) << "part " << i;
    row += n;
  }
  EXPECT_EQ(row, 12);
  std::vector<Tensor> bad;
  EXPECT_EQ(linear_split(x, w, b, {6, 4}, &bad, s).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(linear_split(x, w, b, {6, 0, 6}, &bad, s).code(), StatusCode::kInvalidArgument);

  const Tensor wg = tensor({10, 16}, 4), wu = tensor({10, 16}, 5);
  Tensor act, gate, up, expect;
  ASSERT_TRUE(linear_swiglu(x, wg, wu, &act, s).ok());
  ASSERT_TRUE(linear(x, wg, Tensor(), &gate, s).ok());
  ASSERT_TRUE(linear(x, wu, Tensor(), &up, s).ok());
  ASSERT_TRUE(silu_mul(gate, up, &expect, s).ok());
  EXPECT_EQ(vec(act), vec(expect));
  EXPECT_EQ(linear_swiglu(x, wg, tensor({9, 16}, 6), &act, s).code(), StatusCode::kInvalidArgument);

  // h += a · x·wᵀ + b · x2·w2ᵀ equals two linears and residual_blend.
  const Tensor x2 = tensor({3, 16}, 7), wo = tensor({8, 16}, 8), wo2 = tensor({8, 16}, 9);
  Tensor h = tensor({3, 8}, 10), h_ref = *h.to(Device::cpu()), so, co;
  ASSERT_TRUE(linear_pair_residual(x, wo, x2, wo2, 0.25f, 0.75f, &h, s).ok());
  ASSERT_TRUE(linear(x, wo, Tensor(), &so, s).ok());
  ASSERT_TRUE(linear(x2, wo2, Tensor(), &co, s).ok());
  ASSERT_TRUE(residual_blend(&h_ref, so, co, 0.25f, 0.75f, s).ok());
  EXPECT_EQ(vec(h), vec(h_ref));
  Tensor wrong_h = tensor({3, 9}, 11);
  EXPECT_EQ(linear_pair_residual(x, wo, x2, wo2, 0.25f, 0.75f, &wrong_h, s).code(),
            StatusCode::kInvalidArgument);
}

TEST(Ops, RejectsMismatchedShapesAndDtypes) {
  const Stream s;
  const Tensor x = tensor({4, 8}, 1);
  Tensor y;
  EXPECT_EQ(linear(x, tensor({5, 7}, 2), Tensor(), &y, s).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rms_norm(x, tensor({7}, 3), 1e-6f, &y, s).code(), StatusCode::kInvalidArgument);
  auto bf = x.to_dtype_cpu(DType::kBF16);
  ASSERT_TRUE(bf.ok());
  EXPECT_EQ(rms_norm(*bf, tensor({8}, 3), 1e-6f, &y, s).code(), StatusCode::kInvalidArgument);
  Tensor q = tensor({3, 4, 8}, 4), k = tensor({5, 3, 8}, 5);  // 4 heads over 3 kv heads
  EXPECT_EQ(attention(q, k, k, {}, &y, s).code(), StatusCode::kInvalidArgument);
  auto ids = Tensor::from_int64({2}, {0, 99});
  Tensor table = tensor({10, 4}, 6);
  EXPECT_EQ(embedding(table, *ids, &y, s).code(), StatusCode::kInvalidArgument);
}

TEST(Ops, CastRoundTripsThroughBf16) {
  const Stream s;
  const Tensor x = tensor({3, 5}, 7);
  Tensor b, f;
  ASSERT_TRUE(cast(x, DType::kBF16, &b, s).ok());
  ASSERT_TRUE(cast(b, DType::kF32, &f, s).ok());
  const auto a = vec(x), r = vec(f);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(r[i], a[i], std::abs(a[i]) * 4e-3);
}

// The packed Mamba ops equal the references applied to the split columns, and carrying the
// states through two calls equals one call.
TEST(Ops, PackedMambaOpsMatchReferencesAndCarryState) {
  const Stream s;
  MambaDims d;
  d.d_inner = 16;
  d.nheads = 4;
  d.headdim = 4;
  d.ngroups = 2;
  d.dstate = 3;
  d.d_conv = 4;
  ASSERT_TRUE(d.validate().ok());
  const int64_t L = 9, C = d.conv_dim(), H = d.nheads;
  const Tensor zx = tensor({L, d.in_proj_dim()}, 11);
  const Tensor cw = tensor({C, 4}, 12), cb = tensor({C}, 13), bias = tensor({H}, 14);
  auto A = Tensor::from_floats({H}, ref::test::uniform(H, 15, -4.0f, -0.5f));
  const Tensor D = tensor({H}, 16), nw = tensor({16}, 17);

  Tensor xbc, dt, y, out;
  ASSERT_TRUE(mamba_conv(zx, cw, cb, d, nullptr, &xbc, s).ok());
  ASSERT_TRUE(mamba_dt(zx, bias, d, 0.0f, INFINITY, &dt, s).ok());
  ASSERT_TRUE(ssd_scan(xbc, dt, *A, D, d, nullptr, &y, s).ok());
  ASSERT_TRUE(mamba_gated_norm(y, zx, nw, d, false, 1e-5f, &out, s).ok());

  // References on copied columns.
  const auto z = vec(zx);
  const int64_t W = d.in_proj_dim();
  std::vector<float> xin(L * C), raw(L * H);
  for (int64_t t = 0; t < L; ++t) {
    for (int64_t c = 0; c < C; ++c) xin[t * C + c] = z[t * W + d.d_inner + c];
    for (int64_t h = 0; h < H; ++h) raw[t * H + h] = z[t * W + d.d_inner + C + h];
  }
  ref::Conv1dParams cp;
  cp.length = L;
  cp.channels = C;
  cp.width = 4;
  std::vector<float> want_xbc(L * C);
  ref::causal_conv1d(xin.data(), vec(cw).data(), vec(cb).data(), nullptr, want_xbc.data(), nullptr,
                     cp);
  EXPECT_EQ(vec(xbc), want_xbc);
  std::vector<float> want_dt(L * H);
  ref::dt_softplus(raw.data(), vec(bias).data(), want_dt.data(), L, H, 0.0f, INFINITY);
  EXPECT_EQ(vec(dt), want_dt);

  // Two calls with carried states equal one call.
  auto conv_state = Tensor::zeros({3, C}, DType::kF32);
  auto ssm_state = Tensor::zeros({H, 4, 3}, DType::kF32);
  std::vector<float> y2;
  for (auto [b, e] : {std::pair<int64_t, int64_t>{0, 4}, {4, L}}) {
    Tensor part = *zx.slice_rows(b, e), px, pdt, py;
    ASSERT_TRUE(mamba_conv(part, cw, cb, d, &*conv_state, &px, s).ok());
    ASSERT_TRUE(mamba_dt(part, bias, d, 0.0f, INFINITY, &pdt, s).ok());
    ASSERT_TRUE(ssd_scan(px, pdt, *A, D, d, &*ssm_state, &py, s).ok());
    const auto v = vec(py);
    y2.insert(y2.end(), v.begin(), v.end());
  }
  EXPECT_EQ(y2, vec(y));
}

TEST(Ops, SamplingOpsOnHostLogits) {
  const Stream s;
  auto logits = Tensor::from_floats({5}, {0.1f, 2.0f, -1.0f, 2.0f, 0.5f});
  ASSERT_TRUE(logits.ok());
  auto am = argmax(*logits, s);
  ASSERT_TRUE(am.ok());
  EXPECT_EQ(*am, 1);
  std::vector<float> v;
  std::vector<int64_t> ids;
  ASSERT_TRUE(top_k(*logits, 3, &v, &ids, s).ok());
  EXPECT_EQ(ids, (std::vector<int64_t>{1, 3, 4}));
  EXPECT_EQ(sample(*logits, {1.0f, 0, 1.0f}, 1.0, s).status().code(), StatusCode::kInvalidArgument);

  // Every row's argmax at once (ties: the lower index), equal to argmax row by row.
  auto rows = Tensor::from_floats({3, 4}, {0, 1, 5, 5, 9, -1, 2, 3, -4, -3, -2, -2});
  ASSERT_TRUE(rows.ok());
  auto each = argmax_rows(*rows, s);
  ASSERT_TRUE(each.ok());
  EXPECT_EQ(*each, (std::vector<int64_t>{2, 0, 2}));
  EXPECT_EQ(argmax_rows(*logits, s).status().code(), StatusCode::kInvalidArgument);  // not (B, V)
}

#ifndef VAMBA_WITH_CUDA
TEST(Ops, CudaBackendStubsSayBuiltWithoutCuda) {
  Tensor y;
  const Status st = cuda_backend::linear(Tensor(), Tensor(), Tensor(), &y, Stream());
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("built without CUDA"), std::string::npos);
}
#endif

}  // namespace
}  // namespace vamba::ops
