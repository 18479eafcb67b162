// The fp8 K/V kernels (kernels/quant/kv_fp8.h) against the CPU reference (kernels/reference/
// kv_fp8.h): appends that straddle 64-token blocks (the partly filled block is requantized), a
// one-row append and block-aligned ones, at the 7B's (4 heads × 128) and the tiny model's (2 × 32)
// widths. The codes and scales must equal the reference's exactly (both divide by the same scale
// and round to nearest even); the dequantized bf16 output differs by one bf16 rounding.
#include <gtest/gtest.h>

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/quant/kv_fp8.h"
#include "kernels/reference/kv_fp8.h"
#include "tests/testing/golden.h"

namespace vamba {
namespace {

#define CUDA_OK(expr) ASSERT_EQ((expr), cudaSuccess) << #expr

void run_case(int64_t heads, int64_t d, const std::vector<int64_t>& appends, uint32_t seed) {
  constexpr int64_t kBlock = 64;
  int64_t total = 0;
  for (int64_t n : appends) total += n;
  const int64_t capacity = total + 5;
  const int64_t row = heads * d;
  const int64_t blocks = (capacity + kBlock - 1) / kBlock;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> src(static_cast<size_t>(total * row));
  for (size_t k = 0; k < src.size(); ++k) {
    // bf16-representable values with a spread of magnitudes per head.
    src[k] = __bfloat162float(__float2bfloat16(normal(rng) * (1.0f + (k / d) % 5)));
  }
  std::vector<__nv_bfloat16> src_bf16(src.size());
  for (size_t k = 0; k < src.size(); ++k) src_bf16[k] = __float2bfloat16(src[k]);

  // Reference.
  std::vector<uint8_t> ref_data(static_cast<size_t>(capacity * row), 0);
  std::vector<float> ref_scales(static_cast<size_t>(blocks * heads), 0.0f);
  // Device: outputs poisoned.
  uint8_t* data = nullptr;
  float* scales = nullptr;
  __nv_bfloat16* d_src = nullptr;
  __nv_bfloat16* out = nullptr;
  CUDA_OK(cudaMalloc(reinterpret_cast<void**>(&data), ref_data.size()));
  CUDA_OK(cudaMalloc(reinterpret_cast<void**>(&scales), ref_scales.size() * sizeof(float)));
  CUDA_OK(cudaMalloc(reinterpret_cast<void**>(&d_src), src.size() * sizeof(__nv_bfloat16)));
  CUDA_OK(cudaMalloc(reinterpret_cast<void**>(&out), src.size() * sizeof(__nv_bfloat16)));
  CUDA_OK(cudaMemset(data, 0xFF, ref_data.size()));
  CUDA_OK(cudaMemset(scales, 0xFF, ref_scales.size() * sizeof(float)));
  CUDA_OK(cudaMemset(out, 0xFF, src.size() * sizeof(__nv_bfloat16)));
  CUDA_OK(cudaMemcpy(d_src, src_bf16.data(), src.size() * sizeof(__nv_bfloat16),
                     cudaMemcpyHostToDevice));
  int64_t at = 0;
  for (int64_t n : appends) {
    kernels::reference::kv_fp8_append(src.data() + at * row, n, at, heads, d, kBlock,
                                      ref_data.data(), ref_scales.data());
    CUDA_OK(
        kernels::kv_fp8_append(d_src + at * row, n, at, heads, d, kBlock, data, scales, nullptr));
    at += n;
  }
  CUDA_OK(kernels::kv_fp8_dequantize(data, scales, total, heads, d, kBlock, out, nullptr));
  CUDA_OK(cudaDeviceSynchronize());

  std::vector<uint8_t> got_data(ref_data.size());
  std::vector<float> got_scales(ref_scales.size());
  std::vector<__nv_bfloat16> got_out(src.size());
  CUDA_OK(cudaMemcpy(got_data.data(), data, got_data.size(), cudaMemcpyDeviceToHost));
  CUDA_OK(cudaMemcpy(got_scales.data(), scales, got_scales.size() * sizeof(float),
                     cudaMemcpyDeviceToHost));
  CUDA_OK(cudaMemcpy(got_out.data(), out, got_out.size() * sizeof(__nv_bfloat16),
                     cudaMemcpyDeviceToHost));
  const int64_t used_blocks = (total + kBlock - 1) / kBlock;
  for (int64_t k = 0; k < used_blocks * heads; ++k) {
    ASSERT_EQ(got_scales[k], ref_scales[k]) << "scale " << k;
  }
  int64_t code_mismatches = 0;
  for (int64_t k = 0; k < total * row; ++k) code_mismatches += got_data[k] != ref_data[k];
  EXPECT_EQ(code_mismatches, 0);
  std::vector<float> ref_out(src.size());
  kernels::reference::kv_fp8_dequantize(ref_data.data(), ref_scales.data(), total, heads, d, kBlock,
                                        ref_out.data());
  for (size_t k = 0; k < ref_out.size(); ++k) {
    const float g = __bfloat162float(got_out[k]);
    ASSERT_LE(std::fabs(g - ref_out[k]), std::fabs(ref_out[k]) * (1.0f / 256) + 1e-30f)
        << "element " << k;
  }
  printf("[ metric ] kv_fp8 heads %lld d %lld rows %lld: codes equal, scales equal\n",
         static_cast<long long>(heads), static_cast<long long>(d), static_cast<long long>(total));
  cudaFree(data);
  cudaFree(scales);
  cudaFree(d_src);
  cudaFree(out);
}

TEST(QuantKvFp8, SevenBWidthsAcrossBlocks) {
  VAMBA_SKIP_WITHOUT_GPU();
  run_case(4, 128, {100, 1, 27, 64, 300, 7}, 1);
}

TEST(QuantKvFp8, TinyWidths) {
  VAMBA_SKIP_WITHOUT_GPU();
  run_case(2, 32, {5, 59, 1, 63, 64}, 2);
}

TEST(QuantKvFp8, LongVideo) {
  VAMBA_SKIP_WITHOUT_GPU();
  run_case(4, 128, {8192, 8192, 299, 4096}, 3);
}

}  // namespace
}  // namespace vamba
