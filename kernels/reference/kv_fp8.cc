#include "kernels/reference/kv_fp8.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace vamba::kernels::reference {
namespace {

constexpr float kMax = 448.0f;

}  // namespace

float fp8_e4m3_decode(uint8_t code) {
  const int sign = code >> 7, exponent = (code >> 3) & 0xF, mantissa = code & 0x7;
  if (exponent == 0xF && mantissa == 0x7) return std::nanf("");
  const float magnitude =
      exponent == 0 ? std::ldexp(static_cast<float>(mantissa) / 8.0f, -6)  // subnormal
                    : std::ldexp(1.0f + static_cast<float>(mantissa) / 8.0f, exponent - 7);
  return sign ? -magnitude : magnitude;
}

uint8_t fp8_e4m3_encode(float x) {
  if (std::isnan(x)) return 0x7F;
  const uint8_t sign = std::signbit(x) ? 0x80 : 0x00;
  const float a = std::min(std::fabs(x), kMax);  // saturate (inf too)
  // The representable magnitudes are the 127 codes 0x00..0x7E, increasing: pick the nearest, ties
  // to the even code (an even mantissa). A linear scan keeps it obviously right.
  uint8_t best = 0;
  for (uint8_t c = 1; c <= 0x7E; ++c) {
    const float lo = fp8_e4m3_decode(best), hi = fp8_e4m3_decode(c);
    if (hi <= a) {
      best = c;
      continue;
    }
    // a lies in [lo, hi): nearest, ties to even.
    const float dlo = a - lo, dhi = hi - a;
    if (dhi < dlo || (dhi == dlo && (c & 1) == 0)) best = c;
    break;
  }
  return static_cast<uint8_t>(sign | best);
}

void kv_fp8_append(const float* src, int64_t n, int64_t start, int64_t heads, int64_t head_dim,
                   int64_t block, uint8_t* data, float* scales) {
  if (n <= 0) return;
  const int64_t end = start + n;
  const int64_t row_elems = heads * head_dim;
  std::vector<float> values;
  for (int64_t b = start / block; b * block < end; ++b) {
    const int64_t r0 = b * block, r1 = std::min(end, r0 + block);
    for (int64_t h = 0; h < heads; ++h) {
      // The block's valid rows of head h as floats: old ones dequantized, new ones from src.
      values.assign(static_cast<size_t>((r1 - r0) * head_dim), 0.0f);
      float absmax = 0.0f;
      for (int64_t r = r0; r < r1; ++r) {
        for (int64_t i = 0; i < head_dim; ++i) {
          const float v = r < start ? fp8_e4m3_decode(data[r * row_elems + h * head_dim + i]) *
                                          scales[b * heads + h]
                                    : src[(r - start) * row_elems + h * head_dim + i];
          values[static_cast<size_t>((r - r0) * head_dim + i)] = v;
          absmax = std::max(absmax, std::fabs(v));
        }
      }
      const float scale = absmax > 0.0f ? absmax / kMax : 1.0f;
      scales[b * heads + h] = scale;
      for (int64_t r = r0; r < r1; ++r) {
        for (int64_t i = 0; i < head_dim; ++i) {
          data[r * row_elems + h * head_dim + i] =
              fp8_e4m3_encode(values[static_cast<size_t>((r - r0) * head_dim + i)] / scale);
        }
      }
    }
  }
}

void kv_fp8_dequantize(const uint8_t* data, const float* scales, int64_t rows, int64_t heads,
                       int64_t head_dim, int64_t block, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t h = 0; h < heads; ++h) {
      const float scale = scales[(r / block) * heads + h];
      for (int64_t i = 0; i < head_dim; ++i) {
        const int64_t k = (r * heads + h) * head_dim + i;
        out[k] = fp8_e4m3_decode(data[k]) * scale;
      }
    }
  }
}

}  // namespace vamba::kernels::reference
