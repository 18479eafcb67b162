#include "kernels/reference/rope.h"

#include <cmath>
#include <vector>

namespace vamba::kernels::reference {

void rope_inv_freq(float theta, int64_t dim, float* inv_freq) {
  for (int64_t i = 0; i < dim / 2; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(dim);
    inv_freq[i] = 1.0f / std::pow(theta, exponent);
  }
}

void mrope_angles(const int64_t* positions, int64_t n, int64_t head_dim, const int* section,
                  float theta, float* cos, float* sin) {
  const int64_t half = head_dim / 2;
  std::vector<float> inv_freq(static_cast<size_t>(half));
  rope_inv_freq(theta, head_dim, inv_freq.data());
  std::vector<int> row_of(static_cast<size_t>(half), 2);
  for (int64_t i = 0, s = 0, end = section[0]; i < half; ++i) {
    while (s < 2 && i >= end) end += section[++s];
    row_of[i] = static_cast<int>(s);
  }
  for (int64_t p = 0; p < n; ++p) {
    for (int64_t i = 0; i < half; ++i) {
      const float pos = static_cast<float>(positions[row_of[i] * n + p]);
      const float angle = pos * inv_freq[i];
      cos[p * half + i] = static_cast<float>(std::cos(static_cast<double>(angle)));
      sin[p * half + i] = static_cast<float>(std::sin(static_cast<double>(angle)));
    }
  }
}

void vision_rope_angles(const int64_t* grid_thw, int64_t num_grids, int64_t merge_size,
                        int64_t head_dim, float theta, float* cos, float* sin) {
  const int64_t half = head_dim / 2;     // angles per patch
  const int64_t quarter = head_dim / 4;  // frequencies per axis
  std::vector<float> inv_freq(static_cast<size_t>(quarter));
  rope_inv_freq(theta, half, inv_freq.data());
  int64_t p = 0;
  for (int64_t g = 0; g < num_grids; ++g) {
    const int64_t t = grid_thw[g * 3], h = grid_thw[g * 3 + 1], w = grid_thw[g * 3 + 2];
    for (int64_t ti = 0; ti < t; ++ti) {
      for (int64_t bh = 0; bh < h / merge_size; ++bh) {
        for (int64_t bw = 0; bw < w / merge_size; ++bw) {
          for (int64_t ih = 0; ih < merge_size; ++ih) {
            for (int64_t iw = 0; iw < merge_size; ++iw, ++p) {
              const float row = static_cast<float>(bh * merge_size + ih);
              const float col = static_cast<float>(bw * merge_size + iw);
              for (int64_t k = 0; k < quarter; ++k) {
                const float ar = row * inv_freq[k], ac = col * inv_freq[k];
                cos[p * half + k] = static_cast<float>(std::cos(static_cast<double>(ar)));
                sin[p * half + k] = static_cast<float>(std::sin(static_cast<double>(ar)));
                cos[p * half + quarter + k] = static_cast<float>(std::cos(static_cast<double>(ac)));
                sin[p * half + quarter + k] = static_cast<float>(std::sin(static_cast<double>(ac)));
              }
            }
          }
        }
      }
    }
  }
}

void apply_rotary(float* x, const float* cos, const float* sin, int64_t n, int64_t heads,
                  int64_t head_dim) {
  const int64_t half = head_dim / 2;
  for (int64_t p = 0; p < n; ++p) {
    const float* c = cos + p * half;
    const float* s = sin + p * half;
    for (int64_t h = 0; h < heads; ++h) {
      float* v = x + (p * heads + h) * head_dim;
      for (int64_t i = 0; i < half; ++i) {
        const float a = v[i], b = v[i + half];
        v[i] = a * c[i] - b * s[i];
        v[i + half] = b * c[i] + a * s[i];
      }
    }
  }
}

}  // namespace vamba::kernels::reference
