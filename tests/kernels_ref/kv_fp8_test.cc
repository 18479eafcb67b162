// The fp8 e4m3 reference (kernels/reference/kv_fp8.h): every code decodes and re-encodes to itself,
// rounding is to nearest with ties to the even code, out-of-range values saturate, and block
// quantization keeps every element within half a step of its value — also when a block is filled
// over several appends and requantized.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/reference/kv_fp8.h"

namespace vamba::kernels::reference {
namespace {

TEST(Fp8E4M3, EveryCodeRoundTrips) {
  for (int c = 0; c < 256; ++c) {
    const float x = fp8_e4m3_decode(static_cast<uint8_t>(c));
    if ((c & 0x7F) == 0x7F) {
      EXPECT_TRUE(std::isnan(x)) << c;
      continue;
    }
    EXPECT_EQ(fp8_e4m3_encode(x), c) << "code " << c << " value " << x;
  }
  EXPECT_EQ(fp8_e4m3_decode(0x7E), 448.0f);
  EXPECT_EQ(fp8_e4m3_decode(0x01), std::ldexp(1.0f, -9));  // the smallest subnormal
  EXPECT_EQ(fp8_e4m3_decode(0x08), std::ldexp(1.0f, -6));  // the smallest normal
}

TEST(Fp8E4M3, RoundsToNearestTiesToEvenAndSaturates) {
  for (int c = 0; c < 0x7E; ++c) {
    const float lo = fp8_e4m3_decode(static_cast<uint8_t>(c));
    const float hi = fp8_e4m3_decode(static_cast<uint8_t>(c + 1));
    const float mid = 0.5f * (lo + hi);
    const int even = (c % 2 == 0) ? c : c + 1;
    EXPECT_EQ(fp8_e4m3_encode(mid), even) << "tie between codes " << c << " and " << c + 1;
    EXPECT_EQ(fp8_e4m3_encode(std::nextafter(mid, 0.0f)), c);
    EXPECT_EQ(fp8_e4m3_encode(std::nextafter(mid, 1e9f)), c + 1);
    EXPECT_EQ(fp8_e4m3_encode(-std::nextafter(mid, 0.0f)), 0x80 | c);
  }
  EXPECT_EQ(fp8_e4m3_encode(449.0f), 0x7E);
  EXPECT_EQ(fp8_e4m3_encode(1e30f), 0x7E);
  EXPECT_EQ(fp8_e4m3_encode(-INFINITY), 0xFE);
  EXPECT_EQ(fp8_e4m3_encode(NAN) & 0x7F, 0x7F);
}

// Half a step of e4m3 relative to the block scale s: |x| / 16 for normals (3 mantissa bits), and
// s · 2^-10 at the bottom (subnormal steps of 2^-9).
void expect_within_half_step(const std::vector<float>& got, const std::vector<float>& want,
                             const std::vector<float>& scales, int64_t heads, int64_t d,
                             int64_t block, double roundings) {
  for (size_t k = 0; k < want.size(); ++k) {
    const int64_t row = static_cast<int64_t>(k) / (heads * d);
    const int64_t h = (static_cast<int64_t>(k) / d) % heads;
    const float s = scales[static_cast<size_t>((row / block) * heads + h)];
    const double bound = roundings * (std::fabs(want[k]) / 16.0 + s * std::ldexp(1.0, -10)) + 1e-7;
    ASSERT_LE(std::fabs(got[k] - want[k]), bound) << "element " << k;
  }
}

TEST(KvFp8, BlockScalesBoundTheErrorAcrossAppends) {
  const int64_t heads = 3, d = 8, block = 16, capacity = 80;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> src(static_cast<size_t>(capacity * heads * d));
  for (size_t k = 0; k < src.size(); ++k) src[k] = normal(rng) * (1.0f + (k % 7));
  std::vector<uint8_t> data(src.size(), 0);
  std::vector<float> scales(static_cast<size_t>((capacity + block - 1) / block * heads), 0.0f);
  // Appends that start and end inside blocks, a one-row append, and a block-aligned one.
  int64_t at = 0;
  for (int64_t n : {5, 1, 20, 6, 16, 22}) {
    kv_fp8_append(src.data() + at * heads * d, n, at, heads, d, block, data.data(), scales.data());
    at += n;
  }
  ASSERT_EQ(at, 70);
  std::vector<float> out(static_cast<size_t>(at * heads * d));
  kv_fp8_dequantize(data.data(), scales.data(), at, heads, d, block, out.data());
  const std::vector<float> want(src.begin(), src.begin() + static_cast<int64_t>(out.size()));
  // Rows of a block filled over several appends are rounded once per requantization.
  expect_within_half_step(out, want, scales, heads, d, block, 3.0);
  // One append of everything rounds once.
  std::vector<uint8_t> data1(src.size(), 0);
  std::vector<float> scales1(scales.size(), 0.0f);
  kv_fp8_append(src.data(), at, 0, heads, d, block, data1.data(), scales1.data());
  kv_fp8_dequantize(data1.data(), scales1.data(), at, heads, d, block, out.data());
  expect_within_half_step(out, want, scales1, heads, d, block, 1.0);
  // Each scale is the block's absmax / 448.
  for (int64_t b = 0; b * block < at; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      float absmax = 0;
      for (int64_t r = b * block; r < std::min(at, (b + 1) * block); ++r) {
        for (int64_t i = 0; i < d; ++i)
          absmax = std::max(absmax, std::fabs(src[(r * heads + h) * d + i]));
      }
      EXPECT_FLOAT_EQ(scales1[b * heads + h], absmax / 448.0f);
    }
  }
}

TEST(KvFp8, AllZeroBlockHasUnitScale) {
  std::vector<float> src(2 * 4, 0.0f);
  std::vector<uint8_t> data(8, 0xFF);
  std::vector<float> scales(1, -1.0f);
  kv_fp8_append(src.data(), 2, 0, 1, 4, 64, data.data(), scales.data());
  EXPECT_EQ(scales[0], 1.0f);
  for (uint8_t c : data) EXPECT_EQ(c, 0);
}

}  // namespace
}  // namespace vamba::kernels::reference
