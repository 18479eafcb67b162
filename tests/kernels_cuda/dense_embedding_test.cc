// Token embedding gather (kernels/embedding) against kernels/reference/embedding.h: a copy, so the
// comparison is exact.
#include <gtest/gtest.h>

#include "kernels/embedding/embedding.h"
#include "kernels/reference/embedding.h"
#include "tests/kernels_cuda/dense_test_util.h"

namespace vamba::testing::dense {
namespace {

TEST(DenseEmbedding, GatherMatchesReferenceExactly) {
  VAMBA_SKIP_WITHOUT_GPU();
  struct Case {
    int64_t vocab, dim, n, ldo;
    bool bad_ids;
  };
  // The 7B table (152064 × 3584, 1 GiB in bf16: ~7 s on the H100 machine, mostly drawing the
  // random table), the tiny checkpoint's width, an odd width, an output row stride, and
  // out-of-range ids (zero rows, flag set). The CPU emulation keeps both extents but not their
  // product (it spends its time touching memory).
  const Case cases[] = {{kEmulated ? 256 : 152064, 3584, 300, 3584, false},
                        {152064, kEmulated ? 16 : 128, 28, kEmulated ? 16 : 128, false},
                        {1000, 1001, 77, 1001, false},
                        {5000, 64, 1000, 72, false},
                        {100, 3584, 50, 3584, true}};
  uint64_t seed = 1300;
  for (const Case& c : cases) {
    SCOPED_TRACE("vocab " + std::to_string(c.vocab) + " dim " + std::to_string(c.dim) + " n " +
                 std::to_string(c.n) + (c.bad_ids ? " bad ids" : ""));
    const Bf16Host table = random_bf16(static_cast<size_t>(c.vocab * c.dim), ++seed);
    std::mt19937_64 rng(++seed);
    std::vector<int64_t> ids(static_cast<size_t>(c.n));
    for (auto& id : ids) id = static_cast<int64_t>(rng() % c.vocab);
    ids[0] = c.vocab - 1;  // the last row
    if (c.bad_ids) {
      ids[1] = -1;
      ids[2] = c.vocab;
    }
    DeviceBuffer dt = upload(table.bits), di = upload(ids);
    DeviceBuffer dout(static_cast<size_t>(c.n * c.ldo) * 2), dflag(sizeof(int));
    ASSERT_TRUE(dt.ok() && di.ok() && dout.ok() && dflag.ok());
    DENSE_CUDA_OK(poison(dout.get(), dout.bytes()));
    DENSE_CUDA_OK(cudaMemset(dflag.get(), 0, sizeof(int)));
    kernels::EmbeddingParams p;
    p.table = dt.get();
    p.ids = di.as<int64_t>();
    p.out = dout.get();
    p.vocab = c.vocab;
    p.dim = c.dim;
    p.n = c.n;
    p.ldo = c.ldo;
    p.bad_id_flag = dflag.as<int>();
    ASSERT_EQ(kernels::can_implement(p), nullptr);
    DENSE_CUDA_OK(kernels::embedding(p, nullptr));
    DENSE_CUDA_OK(cudaDeviceSynchronize());

    std::vector<float> ref(static_cast<size_t>(c.n * c.dim));
    const int64_t bad = kernels::reference::embedding(table.values.data(), c.vocab, c.dim,
                                                      ids.data(), c.n, ref.data());
    const auto out = download_bf16(dout.get(), static_cast<size_t>(c.n * c.ldo));
    const std::vector<float> got = bf16_bits_to_float(gather_rows(out, c.n, c.dim, c.ldo));
    EXPECT_EQ(got, ref);  // a gather: bit-exact
    EXPECT_TRUE(padding_untouched(out, c.n, c.dim, c.ldo));
    int flag = -1;
    DENSE_CUDA_OK(cudaMemcpy(&flag, dflag.get(), sizeof(int), cudaMemcpyDeviceToHost));
    EXPECT_EQ(flag, bad > 0 ? 1 : 0);
  }
}

}  // namespace
}  // namespace vamba::testing::dense
