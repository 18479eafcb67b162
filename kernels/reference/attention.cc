#include "kernels/reference/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/reference/parallel.h"

namespace vamba::kernels::reference {
namespace {

// [begin, end) of the keys query row i may see.
void key_range(const AttentionParams& p, int64_t i, int64_t* begin, int64_t* end) {
  int64_t b = 0, e = p.n_k;
  if (p.cu_seqlens) {
    // Segment containing i: the last s with cu_seqlens[s] ≤ i.
    const int64_t* it = std::upper_bound(p.cu_seqlens, p.cu_seqlens + p.num_segments + 1, i);
    const int64_t s = (it - p.cu_seqlens) - 1;
    b = p.cu_seqlens[s];
    e = p.cu_seqlens[s + 1];
  }
  if (p.causal) e = std::min(e, p.q_offset + i + 1);
  *begin = b;
  *end = std::max(b, e);
}

}  // namespace

void attention(const float* q, const float* k, const float* v, float* out,
               const AttentionParams& p) {
  const int64_t Hq = p.num_heads, Hkv = p.num_kv_heads, D = p.head_dim;
  const int64_t group = Hq / Hkv;
  // One task per (query row, head).
  parallel_for(0, p.n_q * Hq, 4, [&](int64_t t0, int64_t t1) {
    std::vector<float> scores;
    std::vector<double> acc(static_cast<size_t>(D));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t i = t / Hq, h = t % Hq, hk = h / group;
      const float* qi = q + (i * Hq + h) * D;
      float* oi = out + (i * Hq + h) * D;
      int64_t kb, ke;
      key_range(p, i, &kb, &ke);
      if (ke <= kb) {
        std::fill(oi, oi + D, 0.0f);
        continue;
      }
      scores.resize(static_cast<size_t>(ke - kb));
      float max_score = -std::numeric_limits<float>::infinity();
      for (int64_t j = kb; j < ke; ++j) {
        const float* kj = k + (j * Hkv + hk) * D;
        float dot = 0.0f;
        for (int64_t d = 0; d < D; ++d) dot += qi[d] * kj[d];
        const float s = dot * p.scale;
        scores[j - kb] = s;
        max_score = std::max(max_score, s);
      }
      double denom = 0.0;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t j = kb; j < ke; ++j) {
        const double w = std::exp(static_cast<double>(scores[j - kb] - max_score));
        denom += w;
        const float* vj = v + (j * Hkv + hk) * D;
        for (int64_t d = 0; d < D; ++d) acc[d] += w * vj[d];
      }
      for (int64_t d = 0; d < D; ++d) oi[d] = static_cast<float>(acc[d] / denom);
    }
  });
}

}  // namespace vamba::kernels::reference
