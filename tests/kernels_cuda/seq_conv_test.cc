// The causal depthwise conv1d (kernels/conv) against the CPU reference (kernels/reference/conv1d.h)
// on bf16-rounded inputs read in place from an in_proj-like buffer (row stride wider than the
// channels), with an initial state, the final state returned, pieces with carried state and the
// single-step update. Outputs and states are poisoned with NaN first.
//
// Tolerances: the arithmetic is fp32 as in the reference; y is rounded to bf16 once (relative L2
// ≈ 2^-7/√12 / √E[m²] ≈ 1.5e-3 for typical data; measured 1.61–1.83e-3 on an H100) ⇒ tolerance
// 3e-3. The final state is a copy of inputs: exact.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "kernels/conv/causal_conv1d.h"
#include "kernels/reference/conv1d.h"
#include "tests/kernels_cuda/seq_test_util.h"

namespace vamba::seqtest {
namespace {

struct ConvShape {
  std::string name;
  int64_t L, C, ld, col0;  // x = columns [col0, col0 + C) of an (L, ld) buffer
};

struct ConvData {
  ConvShape s;
  std::vector<float> buf, w, bias, init;
  ConvData(const ConvShape& shape, std::mt19937& rng) : s(shape) {
    buf = random_bf16_values(s.L * s.ld, rng);
    w = random_bf16_values(s.C * 4, rng, 0.5f);
    bias = random_bf16_values(s.C, rng, 0.5f);
    init = random_bf16_values(3 * s.C, rng);
  }
};

void reference(const ConvData& d, int64_t t0, int64_t t1, const std::vector<float>& state,
               std::vector<float>* y, std::vector<float>* final_state) {
  const std::vector<float> x =
      columns(std::vector<float>(d.buf.begin() + t0 * d.s.ld, d.buf.begin() + t1 * d.s.ld), t1 - t0,
              d.s.ld, d.s.col0, d.s.C);
  kernels::reference::Conv1dParams p;
  p.length = t1 - t0;
  p.channels = d.s.C;
  p.width = 4;
  p.silu = true;
  y->assign(x.size(), 0.0f);
  final_state->assign(state.size(), 0.0f);
  kernels::reference::causal_conv1d(x.data(), d.w.data(), d.bias.data(), state.data(), y->data(),
                                    final_state->data(), p);
}

// y (L, C) for rows [t0, t1) of the device buffer, the state carried in place.
std::vector<float> run_conv(const ConvData& d, const DevBuf<bf16>& buf, const DevBuf<bf16>& w,
                            const DevBuf<bf16>& bias, int64_t t0, int64_t t1,
                            DevBuf<float>& state) {
  DevBuf<bf16> y((t1 - t0) * d.s.C);
  y.poison();
  kernels::CausalConv1dParams p;
  p.x = buf.get() + t0 * d.s.ld + d.s.col0;
  p.x_row_stride = d.s.ld;
  p.weight = w.get();
  p.bias = bias.get();
  p.initial_state = state.get();
  p.final_state = state.get();
  p.y = y.get();
  p.y_row_stride = d.s.C;
  p.length = t1 - t0;
  p.channels = d.s.C;
  p.width = 4;
  p.silu = true;
  const char* why = kernels::causal_conv1d_can_implement(p);
  EXPECT_EQ(why, nullptr) << why;
  if (t1 - t0 == 1 && (t0 % 2 == 1)) {  // odd steps go through the dedicated update kernel
    [&] { SEQ_EXPECT_LAUNCH(kernels::causal_conv1d_update(p, nullptr)); }();
  } else {
    [&] { SEQ_EXPECT_LAUNCH(kernels::causal_conv1d(p, nullptr)); }();
  }
  return to_float(y.download());
}

void check_shape(const ConvShape& shape, uint32_t seed) {
  SCOPED_TRACE(shape.name);
  std::mt19937 rng(seed);
  const ConvData d(shape, rng);
  DevBuf<bf16> buf(to_bf16(d.buf)), w(to_bf16(d.w)), bias(to_bf16(d.bias));

  // One piece.
  std::vector<float> y_ref, state_ref;
  reference(d, 0, shape.L, d.init, &y_ref, &state_ref);
  DevBuf<float> state(d.init);
  const std::vector<float> y = run_conv(d, buf, w, bias, 0, shape.L, state);
  const double ey = testing::rel_l2(y, y_ref);
  const double es = testing::rel_l2(state.download(), state_ref);
  std::printf("seq-parity conv %s L=%lld rel_l2_y=%.3e rel_l2_state=%.3e\n", shape.name.c_str(),
              static_cast<long long>(shape.L), ey, es);
  EXPECT_LT(ey, 3e-3);
  EXPECT_EQ(es, 0.0);

  // Pieces: [0, 1), [1, 3), [3, cut), [cut, L) with the state carried in place; the first pieces
  // are shorter than the kernel width, so the state mixes old and new inputs.
  if (shape.L >= 8) {
    const int64_t cut = shape.L / 2 + 1;
    DevBuf<float> pstate(d.init);
    std::vector<float> yp;
    for (auto [a, b] : {std::pair<int64_t, int64_t>{0, 1}, {1, 3}, {3, cut}, {cut, shape.L}}) {
      const std::vector<float> part = run_conv(d, buf, w, bias, a, b, pstate);
      yp.insert(yp.end(), part.begin(), part.end());
    }
    const double ep = testing::rel_l2(yp, y);
    const double eps = testing::rel_l2(pstate.download(), state_ref);
    std::printf("seq-parity conv %s pieces_vs_whole_y=%.3e pieces_state=%.3e\n", shape.name.c_str(),
                ep, eps);
    EXPECT_EQ(ep, 0.0);  // the same fp32 sums in the same order
    EXPECT_EQ(eps, 0.0);
  }
}

TEST(SeqConv, TinyMixerLayout) {
  SEQ_REQUIRE_DEVICE();
  // Tiny mixer: conv_dim 288 inside in_proj's 552 columns, starting after z (256).
  for (int64_t L : {1, 2, 3, 70, 130}) check_shape({"tiny", L, 288, 552, 256}, 700 + L);
}

TEST(SeqConv, MixerLayout7B) {
  SEQ_REQUIRE_DEVICE();
  // 7B mixer: conv_dim 7424 inside in_proj's 14704 columns, starting after z (7168).
  check_shape({"7b", emulated() ? 20 : 300, 7424, 14704, 7168}, 800);
}

TEST(SeqConv, UnalignedLayoutTakesTheScalarPath) {
  SEQ_REQUIRE_DEVICE();
  check_shape({"unaligned", 67, 30, 45, 7}, 900);
}

TEST(SeqConv, DecodeStepsMatchReferenceUpdate) {
  SEQ_REQUIRE_DEVICE();
  std::mt19937 rng(1000);
  const ConvData d({"step", 6, 288, 552, 256}, rng);
  DevBuf<bf16> buf(to_bf16(d.buf)), w(to_bf16(d.w)), bias(to_bf16(d.bias));
  DevBuf<float> state(d.init);
  std::vector<float> ref_state = d.init;
  kernels::reference::Conv1dParams rp;
  rp.length = 1;
  rp.channels = d.s.C;
  rp.width = 4;
  for (int64_t t = 0; t < d.s.L; ++t) {
    const std::vector<float> y = run_conv(d, buf, w, bias, t, t + 1, state);
    const std::vector<float> x =
        columns(std::vector<float>(d.buf.begin() + t * d.s.ld, d.buf.begin() + (t + 1) * d.s.ld), 1,
                d.s.ld, d.s.col0, d.s.C);
    std::vector<float> y_ref(d.s.C);
    kernels::reference::causal_conv1d_update(x.data(), d.w.data(), d.bias.data(), ref_state.data(),
                                             y_ref.data(), rp);
    EXPECT_LT(testing::rel_l2(y, y_ref), 3e-3) << "step " << t;
    EXPECT_EQ(testing::rel_l2(state.download(), ref_state), 0.0) << "step " << t;
  }
}

}  // namespace
}  // namespace vamba::seqtest
