#include "kernels/reference/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace vamba::kernels::reference {
namespace {

// Descending by value, ties by lower index; NaN sorts last.
struct Greater {
  const float* v;
  bool operator()(int64_t a, int64_t b) const {
    const bool na = std::isnan(v[a]), nb = std::isnan(v[b]);
    if (na != nb) return nb;
    if (!na && v[a] != v[b]) return v[a] > v[b];
    return a < b;
  }
};

}  // namespace

int64_t argmax(const float* logits, int64_t n) {
  int64_t best = -1;
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(logits[i])) continue;
    if (best < 0 || logits[i] > logits[best]) best = i;
  }
  return best < 0 ? 0 : best;
}

void top_k(const float* logits, int64_t n, int64_t k, float* values, int64_t* ids) {
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), Greater{logits});
  for (int64_t i = 0; i < k; ++i) {
    ids[i] = idx[i];
    values[i] = logits[idx[i]];
  }
}

int64_t sample(const float* logits, int64_t n, const SamplingParams& params, double u) {
  if (params.temperature <= 0.0f || n <= 1) return argmax(logits, n);
  std::vector<float> scaled(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) scaled[i] = logits[i] / params.temperature;

  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  int64_t kept = n;
  if (params.top_k > 0 && params.top_k < n) {
    std::partial_sort(order.begin(), order.begin() + params.top_k, order.end(),
                      Greater{scaled.data()});
    // Keep every logit equal to the k-th largest as well (HF removes only those strictly below).
    const float threshold = scaled[order[params.top_k - 1]];
    kept = params.top_k;
    auto tied_end = std::partition(order.begin() + kept, order.end(),
                                   [&](int64_t i) { return scaled[i] >= threshold; });
    std::sort(order.begin() + kept, tied_end, Greater{scaled.data()});
    kept = tied_end - order.begin();
  } else {
    std::sort(order.begin(), order.end(), Greater{scaled.data()});
  }
  while (kept > 1 && std::isnan(scaled[order[kept - 1]])) --kept;

  const double max_logit = scaled[order[0]];
  std::vector<double> prob(static_cast<size_t>(kept));
  double total = 0.0;
  for (int64_t i = 0; i < kept; ++i) {
    prob[i] = std::exp(static_cast<double>(scaled[order[i]]) - max_logit);
    total += prob[i];
  }
  if (params.top_p < 1.0f) {
    double cum = 0.0;
    int64_t keep = 0;
    while (keep < kept && cum < params.top_p * total) cum += prob[keep++];
    kept = std::max<int64_t>(1, keep);
    total = 0.0;
    for (int64_t i = 0; i < kept; ++i) total += prob[i];
  }
  const double target = u * total;
  double cum = 0.0;
  for (int64_t i = 0; i < kept; ++i) {
    cum += prob[i];
    if (cum > target) return order[i];
  }
  return order[kept - 1];
}

}  // namespace vamba::kernels::reference
