#include "kernels/reference/sampling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace vamba::kernels::reference {
namespace {

TEST(ReferenceSampling, ArgmaxTakesLowestIndexAmongTiesAndSkipsNan) {
  const std::vector<float> v = {1, 3, NAN, 3, 2};
  EXPECT_EQ(argmax(v.data(), 5), 1);
  std::vector<float> ids_v(3);
  std::vector<int64_t> ids(3);
  top_k(v.data(), 5, 3, ids_v.data(), ids.data());
  EXPECT_EQ(ids, (std::vector<int64_t>{1, 3, 4}));
}

TEST(ReferenceSampling, GreedyWhenTemperatureIsZero) {
  const std::vector<float> v = {0.1f, 0.5f, 0.2f};
  EXPECT_EQ(sample(v.data(), 3, {0.0f, 0, 1.0f}, 0.99), 1);
}

// With u swept over [0, 1), the frequencies follow softmax(logits / T).
TEST(ReferenceSampling, InverseCdfFollowsSoftmax) {
  const std::vector<float> v = {1.0f, 2.0f, 0.5f, -1.0f};
  const float T = 0.7f;
  std::map<int64_t, int> count;
  const int steps = 100000;
  for (int i = 0; i < steps; ++i) ++count[sample(v.data(), 4, {T, 0, 1.0f}, (i + 0.5) / steps)];
  double den = 0;
  for (float x : v) den += std::exp(x / T);
  for (int64_t t = 0; t < 4; ++t) {
    EXPECT_NEAR(count[t] / double(steps), std::exp(v[t] / T) / den, 1e-3) << t;
  }
}

TEST(ReferenceSampling, TopKAndTopPRestrictTheSupport) {
  const std::vector<float> v = {3.0f, 2.9f, 2.8f, 0.0f, -1.0f};
  for (int i = 0; i < 100; ++i) {
    const double u = i / 100.0;
    EXPECT_LT(sample(v.data(), 5, {1.0f, 2, 1.0f}, u), 2);
    // The top three hold ~97% of the mass: top_p 0.5 keeps the first two only.
    EXPECT_LT(sample(v.data(), 5, {1.0f, 0, 0.5f}, u), 2);
    // A tiny top_p still keeps one token.
    EXPECT_EQ(sample(v.data(), 5, {1.0f, 0, 1e-6f}, u), 0);
  }
  // top_k keeps every logit tied with the k-th.
  const std::vector<float> tied = {1.0f, 1.0f, 1.0f, 0.0f};
  bool saw_third = false;
  for (int i = 0; i < 100; ++i)
    saw_third |= sample(tied.data(), 4, {1.0f, 1, 1.0f}, i / 100.0) == 2;
  EXPECT_TRUE(saw_third);
}

}  // namespace
}  // namespace vamba::kernels::reference
