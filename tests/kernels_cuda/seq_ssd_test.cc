// The SSD scan (kernels/ssd) against the CPU reference (kernels/reference/ssd.h: dt_softplus, then
// the sequential ssd_scan / ssd_step) on bf16-rounded random inputs laid out as the Mamba-2 mixer
// lays them out (x, B, C read in place from the conv output xBC, dt read raw from the in_proj
// output with softplus + bias + clamp fused). Outputs and states are poisoned with NaN first.
//
// Tolerances (relative L2 against the fp32 reference on the same bf16 inputs; one bf16 rounding of
// typical data costs ≈ 2^-7/√12 / √E[m²] ≈ 1.5e-3, m the mantissa in [1, 2)):
//   recurrent: fp32 state and arithmetic, only y's bf16 rounding ⇒ y ≈ 1.5e-3 (tolerance 3e-3, 2×),
//     final state ≈ fp32 roundoff (tolerance 1e-4).
//   chunked: the tensor-core products read bf16 operands — x·w_j (chunk states), the decay-weighted
//     CB (within-chunk term) and the incoming state (C·S term) — whose roundings average over the
//     sums, on top of y's own rounding ⇒ ≈ 2e-3; tolerance 5e-3 for y and for the final state
//     (whose only extra error is the rounding of x·w_j). The default scan stage (several heads per
//     block) also keeps C·Bᵀ as bf16 in shared memory, one more rounding of the within-chunk
//     weights (emulated 7B widths: y 1.98e-3 against 1.82e-3 for the per-head scan).
// Measured on an H100: recurrent y 1.66–1.70e-3, state ≤ 4e-7; chunked y 1.67–1.91e-3, state
// 4.3e-4–1.7e-3 (bench/kernels/README.md).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "kernels/reference/ssd.h"
#include "kernels/ssd/ssd.h"
#include "tests/kernels_cuda/seq_test_util.h"

namespace vamba::seqtest {
namespace {

using kernels::SsdImpl;

struct SsdShape {
  std::string name;
  int64_t L;
  int H, P, G, N, Q;
};

const char* impl_name(SsdImpl impl) {
  switch (impl) {
    case SsdImpl::kChunked:
      return "chunked";
    case SsdImpl::kChunkedLds:
      return "chunked_lds";
    case SsdImpl::kChunkedPerHead:
      return "chunked_per_head";
    case SsdImpl::kRecurrent:
      return "recurrent";
    default:
      return "auto";
  }
}

double y_tolerance(SsdImpl impl) { return impl == SsdImpl::kRecurrent ? 3e-3 : 5e-3; }
double state_tolerance(SsdImpl impl) { return impl == SsdImpl::kRecurrent ? 1e-4 : 5e-3; }

// The mixer's tensors for one sequence, host side (fp32 values that are exact in bf16 where the
// kernel reads bf16).
struct SsdData {
  SsdShape s;
  int64_t conv_dim, dt_stride;
  std::vector<float> xbc;            // (L, conv_dim) = [x (H·P) | B (G·N) | C (G·N)]
  std::vector<float> dt_raw;         // (L, dt_stride): the raw dt columns (bf16) in the first H
  std::vector<float> dt_bias, A, D;  // (H)
  std::vector<float> init;           // (H, P, N)

  SsdData(const SsdShape& shape, std::mt19937& rng) : s(shape) {
    conv_dim = int64_t{s.H} * s.P + 2 * int64_t{s.G} * s.N;
    dt_stride = s.H + 8;  // a strided column block, as in the in_proj output
    xbc = random_bf16_values(s.L * conv_dim, rng);
    dt_raw = random_bf16_values(s.L * dt_stride, rng, 0.5f);
    // Mamba-2 initialisation ranges: dt in [1e-3, 0.1] through the bias, A in [-16, -1].
    const std::vector<float> dt0 = random_uniform(s.H, rng, std::log(1e-3f), std::log(0.1f));
    for (float v : dt0) dt_bias.push_back(std::log(std::expm1(std::exp(v))));
    for (float v : random_uniform(s.H, rng, 1.0f, 16.0f)) A.push_back(-v);
    D = random_bf16_values(s.H, rng);
    init = random_bf16_values(int64_t{s.H} * s.P * s.N, rng, 0.5f);
  }

  // Reference y (L, H, P) and final state for rows [t0, t1), starting from `state`.
  void reference(int64_t t0, int64_t t1, const std::vector<float>& state, std::vector<float>* y,
                 std::vector<float>* final_state) const {
    const int64_t L = t1 - t0, HP = int64_t{s.H} * s.P, GN = int64_t{s.G} * s.N;
    std::vector<float> x(L * HP), B(L * GN), C(L * GN), dt(L * s.H), raw(L * s.H);
    for (int64_t t = 0; t < L; ++t) {
      const float* row = xbc.data() + (t0 + t) * conv_dim;
      std::copy(row, row + HP, x.begin() + t * HP);
      std::copy(row + HP, row + HP + GN, B.begin() + t * GN);
      std::copy(row + HP + GN, row + HP + 2 * GN, C.begin() + t * GN);
      for (int h = 0; h < s.H; ++h) raw[t * s.H + h] = dt_raw[(t0 + t) * dt_stride + h];
    }
    kernels::reference::dt_softplus(raw.data(), dt_bias.data(), dt.data(), L, s.H, 0.0f, INFINITY);
    kernels::reference::SsdParams p;
    p.length = L;
    p.nheads = s.H;
    p.headdim = s.P;
    p.ngroups = s.G;
    p.dstate = s.N;
    y->assign(L * HP, 0.0f);
    final_state->assign(state.size(), 0.0f);
    kernels::reference::ssd_scan(x.data(), dt.data(), A.data(), B.data(), C.data(), D.data(),
                                 state.data(), y->data(), final_state->data(), p);
  }
};

// Device copies of SsdData and one scan call over rows [t0, t1).
struct SsdDevice {
  DevBuf<bf16> xbc, dt_raw;
  DevBuf<float> dt_bias, A, D;
  explicit SsdDevice(const SsdData& d)
      : xbc(to_bf16(d.xbc)), dt_raw(to_bf16(d.dt_raw)), dt_bias(d.dt_bias), A(d.A), D(d.D) {}

  kernels::SsdParams params(const SsdData& d, int64_t t0, int64_t t1, SsdImpl impl,
                            int heads_per_block) const {
    kernels::SsdParams p;
    const int64_t HP = int64_t{d.s.H} * d.s.P, GN = int64_t{d.s.G} * d.s.N;
    const bf16* base = xbc.get() + t0 * d.conv_dim;
    p.x = base;
    p.B = base + HP;
    p.C = base + HP + GN;
    p.x_token_stride = p.b_token_stride = p.c_token_stride = d.conv_dim;
    p.dt = dt_raw.get() + t0 * d.dt_stride;
    p.dt_token_stride = d.dt_stride;
    p.dt_is_bf16 = true;
    p.dt_bias = dt_bias.get();
    p.dt_softplus = true;
    p.A = A.get();
    p.D = D.get();
    p.y_token_stride = HP;
    p.length = t1 - t0;
    p.nheads = d.s.H;
    p.headdim = d.s.P;
    p.ngroups = d.s.G;
    p.dstate = d.s.N;
    p.chunk_size = d.s.Q;
    p.impl = impl;
    p.scan_heads_per_block = heads_per_block;
    return p;
  }
};

// Runs the scan over [t0, t1) from `state` (device, in place → final state); returns y (host).
std::vector<float> run_scan(const SsdData& d, const SsdDevice& dev, int64_t t0, int64_t t1,
                            SsdImpl impl, DevBuf<float>& state, int heads_per_block = 0) {
  kernels::SsdParams p = dev.params(d, t0, t1, impl, heads_per_block);
  DevBuf<bf16> y((t1 - t0) * d.s.H * d.s.P);
  y.poison();
  p.y = y.get();
  p.initial_state = state.get();
  p.final_state = state.get();  // in place, as the engine carries it
  const char* why = kernels::ssd_can_implement(p);
  EXPECT_EQ(why, nullptr) << why;
  if (why != nullptr) return {};
  DevBuf<unsigned char> ws(kernels::ssd_workspace_bytes(p));
  ws.poison();
  p.workspace = ws.get();
  p.workspace_bytes = ws.size();
  [&] { SEQ_EXPECT_LAUNCH(kernels::ssd_scan(p, nullptr)); }();
  return to_float(y.download());
}

// Runs each implementation in `impls` against one reference computation.
void check_against_reference(const SsdShape& shape, std::initializer_list<SsdImpl> impls,
                             uint32_t seed, int heads_per_block = 0) {
  SCOPED_TRACE(shape.name);
  std::mt19937 rng(seed);
  const SsdData d(shape, rng);
  std::vector<float> y_ref, state_ref;
  d.reference(0, shape.L, d.init, &y_ref, &state_ref);
  const SsdDevice dev(d);
  for (SsdImpl impl : impls) {
    SCOPED_TRACE(impl_name(impl));
    DevBuf<float> state(d.init);
    const std::vector<float> y = run_scan(d, dev, 0, shape.L, impl, state, heads_per_block);
    const double ey = testing::rel_l2(y, y_ref);
    const double es = testing::rel_l2(state.download(), state_ref);
    std::printf(
        "seq-parity ssd %s impl=%s L=%lld heads_per_block=%d rel_l2_y=%.3e "
        "rel_l2_state=%.3e\n",
        shape.name.c_str(), impl_name(impl), static_cast<long long>(shape.L), heads_per_block, ey,
        es);
    EXPECT_LT(ey, y_tolerance(impl));
    EXPECT_LT(es, state_tolerance(impl));
  }
}

void check_all_impls(const SsdShape& shape, uint32_t seed) {
  check_against_reference(
      shape,
      {SsdImpl::kChunked, SsdImpl::kChunkedLds, SsdImpl::kChunkedPerHead, SsdImpl::kRecurrent},
      seed);
}

TEST(SeqSsd, TinyModelShapes) {
  SEQ_REQUIRE_DEVICE();
  // H = 8, P = 32, N = 16, G = 1, chunk 64; lengths inside one chunk, at a chunk edge, and over
  // several with a partial last chunk.
  for (int64_t L :
       emulated() ? std::vector<int64_t>{37, 64, 150} : std::vector<int64_t>{2, 37, 64, 65, 1000}) {
    check_all_impls({"tiny", L, 8, 32, 1, 16, 64}, static_cast<uint32_t>(100 + L));
  }
}

TEST(SeqSsd, GroupsShareBAndC) {
  SEQ_REQUIRE_DEVICE();
  check_all_impls({"tiny_groups2", emulated() ? 90 : 700, 8, 32, 2, 16, 64}, 200);
}

// The scan stage walks runs of heads per block; a head count its run length does not divide leaves
// a shorter last run (and with G = 2 the runs must stop at the group edge), chunk sizes 64 and 128
// change the warps per block.
TEST(SeqSsd, HeadsPerBlockRemainders) {
  SEQ_REQUIRE_DEVICE();
  const std::initializer_list<SsdImpl> chunked = {SsdImpl::kChunked, SsdImpl::kChunkedLds};
  check_against_reference({"tiny_runs3", emulated() ? 150 : 1000, 8, 32, 1, 16, 64}, chunked, 210,
                          3);
  check_against_reference({"tiny_groups2_runs3", emulated() ? 90 : 700, 8, 32, 2, 16, 64}, chunked,
                          220, 3);
  check_against_reference({"tiny_q128_runs5", emulated() ? 200 : 1000, 8, 32, 1, 16, 128}, chunked,
                          230, 5);
  check_against_reference({"7b_widths_q128_runs1", emulated() ? 130 : 1000, 3, 64, 1, 128, 128},
                          chunked, 240, 1);
}

TEST(SeqSsd, ModelWidths7B) {
  SEQ_REQUIRE_DEVICE();
  // P = 64, N = 128, chunk 256 (the 7B mixer); 112 heads on the device, fewer when emulated.
  if (emulated()) {
    check_all_impls({"7b_widths", 300, 2, 64, 1, 128, 256}, 300);
  } else {
    check_all_impls({"7b", 1000, 112, 64, 1, 128, 256}, 300);
  }
}

TEST(SeqSsd, LongVideoTinyWidth) {
  SEQ_REQUIRE_DEVICE();
  if (emulated()) GTEST_SKIP() << "no GPU (CPU emulation): 10^5 steps run in the device build";
  // ≥ 100K video tokens, tiny width: 1,600+ chunks of carried fp32 state.
  check_against_reference({"long_tiny", 102400 + 37, 8, 32, 1, 16, 64},
                          {SsdImpl::kChunked, SsdImpl::kRecurrent}, 400);
}

TEST(SeqSsd, TwoPiecesWithCarriedStateEqualOnePiece) {
  SEQ_REQUIRE_DEVICE();
  const std::vector<SsdShape> shapes =
      emulated() ? std::vector<SsdShape>{{"pieces_tiny", 150, 8, 32, 1, 16, 64}}
                 : std::vector<SsdShape>{{"pieces_tiny", 5000, 8, 32, 1, 16, 64},
                                         {"pieces_7b", 1500, 112, 64, 1, 128, 256}};
  for (const SsdShape& shape : shapes) {
    for (SsdImpl impl : {SsdImpl::kChunked, SsdImpl::kRecurrent}) {
      SCOPED_TRACE(shape.name + " / " + impl_name(impl));
      std::mt19937 rng(500);
      const SsdData d(shape, rng);
      const SsdDevice dev(d);
      const int64_t cut = shape.L / 2 + 13;  // not on a chunk boundary
      DevBuf<float> whole_state(d.init), piece_state(d.init);
      const std::vector<float> y_whole = run_scan(d, dev, 0, shape.L, impl, whole_state);
      std::vector<float> y_pieces = run_scan(d, dev, 0, cut, impl, piece_state);
      const std::vector<float> y2 = run_scan(d, dev, cut, shape.L, impl, piece_state);
      y_pieces.insert(y_pieces.end(), y2.begin(), y2.end());
      std::vector<float> y_ref, state_ref;
      d.reference(0, shape.L, d.init, &y_ref, &state_ref);
      const double e_pieces = testing::rel_l2(y_pieces, y_whole);
      const double e_state = testing::rel_l2(piece_state.download(), whole_state.download());
      const double e_ref = testing::rel_l2(y_pieces, y_ref);
      std::printf(
          "seq-parity ssd %s impl=%s pieces_vs_whole_y=%.3e pieces_vs_whole_state=%.3e "
          "pieces_vs_ref_y=%.3e\n",
          shape.name.c_str(), impl_name(impl), e_pieces, e_state, e_ref);
      // Different chunk boundaries round differently; both sides are within their own tolerance
      // of the reference, so they agree within twice it.
      EXPECT_LT(e_pieces, 2 * y_tolerance(impl));
      EXPECT_LT(e_state, 2 * state_tolerance(impl));
      EXPECT_LT(e_ref, y_tolerance(impl));
    }
  }
}

TEST(SeqSsd, DecodeStepsMatchReferenceStep) {
  SEQ_REQUIRE_DEVICE();
  for (const SsdShape& shape : {SsdShape{"step_tiny", 5, 8, 32, 1, 16, 64},
                                SsdShape{"step_7b", 3, emulated() ? 4 : 112, 64, 1, 128, 256}}) {
    SCOPED_TRACE(shape.name);
    std::mt19937 rng(600);
    const SsdData d(shape, rng);
    const SsdDevice dev(d);
    DevBuf<float> state(d.init);
    std::vector<float> ref_state = d.init;
    for (int64_t t = 0; t < shape.L; ++t) {
      const std::vector<float> y = run_scan(d, dev, t, t + 1, SsdImpl::kAuto, state);
      std::vector<float> y_ref, next;
      d.reference(t, t + 1, ref_state, &y_ref, &next);
      ref_state = next;
      const double ey = testing::rel_l2(y, y_ref);
      const double es = testing::rel_l2(state.download(), ref_state);
      std::printf("seq-parity ssd %s step=%lld rel_l2_y=%.3e rel_l2_state=%.3e\n",
                  shape.name.c_str(), static_cast<long long>(t), ey, es);
      EXPECT_LT(ey, 3e-3);
      EXPECT_LT(es, 1e-4);
    }
  }
}

TEST(SeqSsd, ChoosesAnImplementation) {
  kernels::SsdParams p;
  p.nheads = 112;
  p.headdim = 64;
  p.ngroups = 1;
  p.dstate = 128;
  p.length = 1;
  EXPECT_EQ(kernels::ssd_resolve_impl(p), SsdImpl::kRecurrent);  // decode
  p.nheads = 3;
  p.ngroups = 2;  // does not divide
  EXPECT_NE(kernels::ssd_can_implement(p), nullptr);
}

}  // namespace
}  // namespace vamba::seqtest
