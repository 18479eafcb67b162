// Rotary embeddings (kernels/rope) against kernels/reference/rope.h, with M-RoPE tables (7B and
// tiny sections) and the vision tower's 2-D tables, on q/k layouts the model uses: separate
// tensors, q and k in one launch, and q/k as views into a fused qkv row.
#include <gtest/gtest.h>

#include "kernels/reference/rope.h"
#include "kernels/rope/rope.h"
#include "tests/kernels_cuda/dense_test_util.h"

namespace vamba::testing::dense {
namespace {

struct Tables {
  std::vector<float> cos, sin;  // (n, head_dim / 2)
};

Tables mrope_tables(int64_t n, int64_t head_dim, const std::vector<int>& section, uint64_t seed) {
  // Positions as a long video prompt produces them: t, h, w rows differing, values up to ~1e5.
  std::mt19937_64 rng(seed);
  std::vector<int64_t> pos(static_cast<size_t>(3 * n));
  for (auto& p : pos) p = static_cast<int64_t>(rng() % 100000);
  Tables t;
  t.cos.resize(static_cast<size_t>(n * head_dim / 2));
  t.sin.resize(t.cos.size());
  kernels::reference::mrope_angles(pos.data(), n, head_dim, section.data(), 1e6f, t.cos.data(),
                                   t.sin.data());
  return t;
}

// Rotates x (n, heads, head_dim) held at token stride ld (≥ heads·head_dim) with the reference.
std::vector<float> reference_rotate(const std::vector<float>& x, int64_t n, int64_t heads,
                                    int64_t head_dim, int64_t ld, const Tables& t) {
  std::vector<float> dense = gather_rows(x, n, heads * head_dim, ld);
  kernels::reference::apply_rotary(dense.data(), t.cos.data(), t.sin.data(), n, heads, head_dim);
  return dense;
}

struct RopeCase {
  int64_t n, heads, heads2, head_dim;
  int64_t ld, ld2;  // token strides (0 = dense)
  std::vector<int> section;
  std::string what;
};

TEST(DenseRope, MRopeMatchesReference) {
  VAMBA_SKIP_WITHOUT_GPU();
  const std::vector<int> s7b = {16, 24, 24}, tiny = {4, 6, 6};
  const RopeCase cases[] = {
      {37, 28, 0, 128, 0, 0, s7b, "7B q"},
      {37, 4, 0, 128, 0, 0, s7b, "7B k"},
      {1, 28, 4, 128, 0, 0, s7b, "7B decode q+k in one launch"},
      // q and k read in place from the fused (n, (28 + 4 + 4) · 128) qkv output.
      {19, 28, 4, 128, 36 * 128, 36 * 128, s7b, "7B q,k views of qkv"},
      {28, 4, 2, 32, 0, 0, tiny, "tiny q+k"},
      {5, 3, 0, 6, 0, 0, {1, 1, 1}, "head_dim 6 (scalar path)"},
      {7, 2, 0, 128, 2 * 128 + 2, 0, s7b, "misaligned token stride"},
  };
  uint64_t seed = 1100;
  for (const RopeCase& c : cases) {
    SCOPED_TRACE(c.what);
    const int64_t ld = c.ld ? c.ld : c.heads * c.head_dim;
    const int64_t ld2 = c.ld2 ? c.ld2 : c.heads2 * c.head_dim;
    const Tables t = mrope_tables(c.n, c.head_dim, c.section, ++seed);
    // With views into one qkv buffer, k starts after q's heads.
    const bool shared = c.ld2 != 0;
    const int64_t k_off = shared ? c.heads * c.head_dim : 0;
    const Bf16Host x = random_bf16(static_cast<size_t>(c.n * ld), ++seed);
    const Bf16Host x2 = random_bf16(static_cast<size_t>(std::max<int64_t>(1, c.n * ld2)), ++seed);
    DeviceBuffer dx = upload(x.bits), dx2 = upload(x2.bits);
    DeviceBuffer dcos = upload(t.cos), dsin = upload(t.sin);
    ASSERT_TRUE(dx.ok() && dx2.ok() && dcos.ok() && dsin.ok());
    kernels::RotaryParams p;
    p.x = dx.get();
    p.heads = c.heads;
    p.ldx = c.ld;
    if (c.heads2 > 0) {
      p.x2 = shared ? static_cast<void*>(dx.as<uint16_t>() + k_off) : dx2.get();
      p.heads2 = c.heads2;
      p.ldx2 = c.ld2;
    }
    p.cos = dcos.as<float>();
    p.sin = dsin.as<float>();
    p.n = c.n;
    p.head_dim = c.head_dim;
    ASSERT_EQ(kernels::can_implement(p), nullptr);
    DENSE_CUDA_OK(kernels::apply_rotary(p, nullptr));
    DENSE_CUDA_OK(cudaDeviceSynchronize());

    const auto out = download_bf16_as_float(dx.get(), x.bits.size());
    const auto ref_q = reference_rotate(x.values, c.n, c.heads, c.head_dim, ld, t);
    const double err_q = rel_l2(gather_rows(out, c.n, c.heads * c.head_dim, ld), ref_q);
    report_parity("rope " + c.what + " q", err_q);
    EXPECT_LT(err_q, kBf16OutTol);
    if (c.heads2 > 0) {
      std::vector<float> got_k, ref_k;
      if (shared) {
        std::vector<float> kin(x.values.begin() + k_off, x.values.end());
        std::vector<float> kout(out.begin() + k_off, out.end());
        kin.resize(static_cast<size_t>(c.n * ld));  // pad the tail so gather_rows stays in range
        kout.resize(kin.size());
        ref_k = reference_rotate(kin, c.n, c.heads2, c.head_dim, ld, t);
        got_k = gather_rows(kout, c.n, c.heads2 * c.head_dim, ld);
      } else {
        ref_k = reference_rotate(x2.values, c.n, c.heads2, c.head_dim, ld2, t);
        got_k = gather_rows(download_bf16_as_float(dx2.get(), x2.bits.size()), c.n,
                            c.heads2 * c.head_dim, ld2);
      }
      const double err_k = rel_l2(got_k, ref_k);
      report_parity("rope " + c.what + " k", err_k);
      EXPECT_LT(err_k, kBf16OutTol);
    }
    if (shared) {
      // v (the last heads of each qkv row) and any padding are untouched.
      for (int64_t r = 0; r < c.n; ++r) {
        for (int64_t j = (c.heads + c.heads2) * c.head_dim; j < ld; ++j) {
          ASSERT_EQ(out[r * ld + j], x.values[r * ld + j]);
        }
      }
    }
  }
}

TEST(DenseRope, VisionRotaryMatchesReference) {
  VAMBA_SKIP_WITHOUT_GPU();
  // The 7B tower: head_dim 80 (1280 / 16 heads); two grids, merge size 2; and the tiny tower's 16.
  for (const int64_t head_dim : {int64_t{80}, int64_t{16}}) {
    SCOPED_TRACE(head_dim);
    const std::vector<int64_t> grids = {2, 8, 12, 1, 4, 6};  // (t, h, w) × 2
    const int64_t n = 2 * 8 * 12 + 4 * 6, heads = head_dim == 80 ? 16 : 4;
    Tables t;
    t.cos.resize(static_cast<size_t>(n * head_dim / 2));
    t.sin.resize(t.cos.size());
    kernels::reference::vision_rope_angles(grids.data(), 2, 2, head_dim, 1e4f, t.cos.data(),
                                           t.sin.data());
    const Bf16Host x = random_bf16(static_cast<size_t>(n * heads * head_dim), 1200 + head_dim);
    DeviceBuffer dx = upload(x.bits), dcos = upload(t.cos), dsin = upload(t.sin);
    ASSERT_TRUE(dx.ok() && dcos.ok() && dsin.ok());
    kernels::RotaryParams p;
    p.x = dx.get();
    p.heads = heads;
    p.cos = dcos.as<float>();
    p.sin = dsin.as<float>();
    p.n = n;
    p.head_dim = head_dim;
    DENSE_CUDA_OK(kernels::apply_rotary(p, nullptr));
    DENSE_CUDA_OK(cudaDeviceSynchronize());
    const auto ref = reference_rotate(x.values, n, heads, head_dim, heads * head_dim, t);
    const double err = rel_l2(download_bf16_as_float(dx.get(), ref.size()), ref);
    report_parity("vision rope head_dim " + std::to_string(head_dim), err);
    EXPECT_LT(err, kBf16OutTol);
  }
}

TEST(DenseRope, RejectsOddHeadDim) {
  kernels::RotaryParams p;
  int dummy = 0;
  float f = 0;
  p.x = &dummy;
  p.cos = p.sin = &f;
  p.heads = 1;
  p.n = 1;
  p.head_dim = 7;
  EXPECT_NE(kernels::can_implement(p), nullptr);
  p.head_dim = 8;
  EXPECT_EQ(kernels::can_implement(p), nullptr);
}

}  // namespace
}  // namespace vamba::testing::dense
