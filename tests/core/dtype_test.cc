#include "engine/core/dtype.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

namespace vamba {
namespace {

TEST(DType, SizesAndNames) {
  EXPECT_EQ(dtype_size(DType::kBF16), 2u);
  EXPECT_EQ(dtype_size(DType::kF32), 4u);
  EXPECT_EQ(dtype_size(DType::kI64), 8u);
  EXPECT_EQ(dtype_size(DType::kU8), 1u);
  for (DType d : {DType::kBF16, DType::kF16, DType::kF32, DType::kF64, DType::kI32, DType::kI64,
                  DType::kU8, DType::kBool}) {
    auto back = dtype_from_safetensors(dtype_to_safetensors(d));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, d);
  }
  EXPECT_FALSE(dtype_from_safetensors("F8_E4M3X").ok());
}

TEST(DType, Bf16RoundsToNearestEven) {
  // 1 + 2^-8 is exactly halfway between two bf16 values: ties go to the even mantissa (1.0).
  EXPECT_EQ(bf16_to_float(float_to_bf16(1.0f + std::ldexp(1.0f, -8))), 1.0f);
  // 1 + 3*2^-8 is halfway too; the even neighbour is 1 + 2^-6.
  EXPECT_EQ(bf16_to_float(float_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8))),
            1.0f + std::ldexp(1.0f, -6));
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_TRUE(std::isinf(bf16_to_float(float_to_bf16(INFINITY))));
}

TEST(DType, Bf16RelativeErrorBound) {
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.f, 100.f);
  for (int i = 0; i < 10000; ++i) {
    const float x = dist(rng);
    const float y = bf16_to_float(float_to_bf16(x));
    EXPECT_LE(std::fabs(x - y), std::fabs(x) * std::ldexp(1.0f, -8)) << x;
  }
}

TEST(DType, F16RoundTrip) {
  for (float x : {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f, 0.333251953125f}) {
    EXPECT_EQ(f16_to_float(float_to_f16(x)), x) << x;
  }
  EXPECT_TRUE(std::isinf(f16_to_float(float_to_f16(1e6f))));
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> dist(-1000.f, 1000.f);
  for (int i = 0; i < 10000; ++i) {
    const float x = dist(rng);
    EXPECT_LE(std::fabs(f16_to_float(float_to_f16(x)) - x), std::fabs(x) * std::ldexp(1.0f, -11))
        << x;
  }
}

TEST(DType, ConvertHost) {
  std::vector<float> src = {1.5f, -2.25f, 3.0f};
  std::vector<bf16> mid(3);
  std::vector<double> dst(3);
  ASSERT_TRUE(convert_host(src.data(), DType::kF32, mid.data(), DType::kBF16, 3).ok());
  ASSERT_TRUE(convert_host(mid.data(), DType::kBF16, dst.data(), DType::kF64, 3).ok());
  EXPECT_EQ(dst[0], 1.5);
  EXPECT_EQ(dst[1], -2.25);
  EXPECT_EQ(dst[2], 3.0);
}

}  // namespace
}  // namespace vamba
