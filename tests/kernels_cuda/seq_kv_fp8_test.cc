// The fp8 e4m3 K/V store kernels (kernels/quant/kv_fp8.h) against the CPU reference
// (kernels/reference/kv_fp8.h), bit for bit: after every append of a sequence the stored codes of
// the valid rows and the scales of the blocks they fill equal the reference's, and the dequantized
// rows equal the reference's dequantized rows rounded once to bf16. Both sides compute the same
// f32 operations (absmax, absmax / 448, value / scale) and round to e4m3 to nearest even with
// saturation, so any difference is a kernel bug (indexing, the partly filled block's requantize, a
// race on its old scale), not rounding. Appends straddle the 64-row blocks, land inside a partly
// filled one, fill one exactly, grow the magnitudes (the old rows must be requantized with the new
// scale) and include an all-zero block (scale 1). Rows past the valid length and the scales of
// untouched blocks are poisoned (0xff: NaN codes and NaN scales) and must stay so.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/quant/kv_fp8.h"
#include "kernels/reference/kv_fp8.h"
#include "tests/kernels_cuda/seq_test_util.h"

namespace vamba::seqtest {
namespace {

constexpr int64_t kBlock = 64;  // kFp8KvBlockTokens (engine/state/kv_store.h)

struct StoreCase {
  std::string name;
  int heads = 0, head_dim = 0;
  std::vector<int64_t> appends;  // rows of each append, in order
  std::vector<float> stddevs;    // the spread of each append's values; 0: all zero
};

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof(float)) == 0; }

void run_store(const StoreCase& c, uint32_t seed) {
  SCOPED_TRACE(c.name);
  SEQ_REQUIRE_DEVICE();
  ASSERT_EQ(c.appends.size(), c.stddevs.size());
  std::mt19937 rng(seed);
  const int64_t row = int64_t{c.heads} * c.head_dim;
  int64_t total = 0;
  for (int64_t n : c.appends) total += n;
  const int64_t capacity = total + 70;  // room past the end, poisoned, spanning one more block
  const int64_t blocks = (capacity + kBlock - 1) / kBlock;

  std::vector<uint8_t> ref_data(capacity * row, 0xff);
  std::vector<float> ref_scales(blocks * c.heads);
  std::memset(ref_scales.data(), 0xff, ref_scales.size() * sizeof(float));
  DevBuf<uint8_t> data(ref_data.size());
  DevBuf<float> scales(ref_scales.size());
  data.poison();
  scales.poison();

  int64_t length = 0;
  for (size_t a = 0; a < c.appends.size(); ++a) {
    const int64_t n = c.appends[a];
    std::vector<float> src = c.stddevs[a] > 0.0f ? random_bf16_values(n * row, rng, c.stddevs[a])
                                                 : std::vector<float>(n * row, 0.0f);
    // One outlier per append, so a block's scale is set by one element, not the bulk.
    // (Rounded to bf16 like every source value: the kernel reads bf16.)
    if (!src.empty() && c.stddevs[a] > 0.0f) {
      src[src.size() / 3] = bf16_to_float(float_to_bf16(6.0f * c.stddevs[a]));
    }
    kernels::reference::kv_fp8_append(src.data(), n, length, c.heads, c.head_dim, kBlock,
                                      ref_data.data(), ref_scales.data());
    DevBuf<bf16> dsrc(to_bf16(src));
    SEQ_EXPECT_LAUNCH(kernels::kv_fp8_append(dsrc.get(), n, length, c.heads, c.head_dim, kBlock,
                                             data.get(), scales.get(), nullptr));
    length += n;

    const std::vector<uint8_t> got_data = data.download();
    const std::vector<float> got_scales = scales.download();
    for (int64_t i = 0; i < capacity * row; ++i) {
      // Valid rows: the reference's codes; rows past the end: untouched poison.
      const uint8_t want = i < length * row ? ref_data[i] : uint8_t{0xff};
      ASSERT_EQ(got_data[i], want)
          << "after append " << a << ": row " << i / row << " element " << i % row;
    }
    const int64_t used = (length + kBlock - 1) / kBlock;
    for (int64_t i = 0; i < blocks * c.heads; ++i) {
      if (i < used * c.heads) {
        ASSERT_TRUE(same_bits(got_scales[i], ref_scales[i]))
            << "after append " << a << ": block " << i / c.heads << " head " << i % c.heads << ": "
            << got_scales[i] << " vs " << ref_scales[i];
      } else {
        ASSERT_TRUE(std::isnan(got_scales[i])) << "untouched block " << i / c.heads << " written";
      }
    }

    // Dequantize every valid row into a poisoned bf16 buffer one row longer than needed.
    std::vector<float> ref_out(length * row);
    kernels::reference::kv_fp8_dequantize(ref_data.data(), ref_scales.data(), length, c.heads,
                                          c.head_dim, kBlock, ref_out.data());
    DevBuf<bf16> out((length + 1) * row);
    out.poison();
    SEQ_EXPECT_LAUNCH(kernels::kv_fp8_dequantize(data.get(), scales.get(), length, c.heads,
                                                 c.head_dim, kBlock, out.get(), nullptr));
    const std::vector<bf16> got = out.download();
    for (int64_t i = 0; i < length * row; ++i) {
      ASSERT_EQ(got[i].bits, float_to_bf16(ref_out[i]).bits)
          << "dequantized row " << i / row << " element " << i % row << ": "
          << bf16_to_float(got[i]) << " vs " << ref_out[i];
    }
    for (int64_t i = length * row; i < (length + 1) * row; ++i) {
      ASSERT_EQ(got[i].bits, 0xffff) << "dequantize wrote past its rows";
    }
  }
  std::printf("seq-parity kv_fp8 %s rows=%lld: codes, scales and dequantized rows bit-exact\n",
              c.name.c_str(), static_cast<long long>(length));
}

TEST(SeqKvFp8, WholeBlocksAndOneAppend) {
  run_store({"tiny_one_block", 2, 32, {64}, {1.0f}}, 1);
  run_store({"7b_straddle", 4, 128, {emulated() ? 150 : 1000}, {2.0f}}, 2);
}

TEST(SeqKvFp8, AppendsIntoAPartlyFilledBlockRequantizeIt) {
  // Single rows into one block, then a piece that finishes it and straddles the next.
  run_store({"rows_then_straddle", 2, 32, {1, 1, 5, 60, 3}, {1.0f, 0.5f, 3.0f, 0.25f, 8.0f}}, 3);
  // Odd pieces over several blocks with growing and shrinking spreads (the golden video: 128).
  run_store({"odd_pieces", 2, 32, {37, 50, 41, 1, 127}, {1.0f, 4.0f, 0.5f, 16.0f, 1.0f}}, 4);
  run_store({"7b_pieces", 4, 128, {13, 64, 51, 70}, {1.0f, 0.1f, 10.0f, 1.0f}}, 5);
}

TEST(SeqKvFp8, AllZeroBlockKeepsScaleOne) {
  run_store({"zeros_then_values", 2, 32, {64, 10, 20}, {0.0f, 0.0f, 1.0f}}, 6);
}

TEST(SeqKvFp8, SaturatingSourcesAreRepresentable) {
  // bf16 values far beyond 448 (and tiny ones): the scale brings every block into range.
  run_store({"large", 2, 32, {40, 40}, {3000.0f, 1e-3f}}, 7);
}

}  // namespace
}  // namespace vamba::seqtest
