// Next-token selection (kernels/sampling) against kernels/reference/sampling.h: argmax and top-k
// exactly (ties to the lower index, NaN ignored), sampling picking the reference's token for the
// same u, and sampled frequencies over a small vocabulary matching the filtered distribution.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "kernels/reference/sampling.h"
#include "kernels/sampling/sampling.h"
#include "tests/kernels_cuda/dense_test_util.h"

namespace vamba::testing::dense {
namespace {

// Logits as the kernel reads them (f32, or bf16 bits) and as floats for the reference.
struct Logits {
  std::vector<float> values;
  std::vector<uint16_t> bits;  // bf16 only
  bool f32 = true;
  DeviceBuffer dev;
};

Logits make_logits(int64_t vocab, bool f32, uint64_t seed, float scale = 2.0f) {
  Logits l;
  l.f32 = f32;
  if (f32) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> dist(0.0f, scale);
    l.values.resize(static_cast<size_t>(vocab));
    for (auto& v : l.values) v = dist(rng);
  } else {
    const Bf16Host h = random_bf16(static_cast<size_t>(vocab), seed, scale);
    l.values = h.values;
    l.bits = h.bits;
  }
  return l;
}

void upload_logits(Logits* l) {
  if (l->f32) {
    l->dev = upload(l->values);
  } else {
    l->bits.resize(l->values.size());
    for (size_t i = 0; i < l->values.size(); ++i) l->bits[i] = float_to_bf16(l->values[i]).bits;
    l->dev = upload(l->bits);
  }
}

TEST(DenseSampling, ArgmaxMatchesReferenceExactly) {
  VAMBA_SKIP_WITHOUT_GPU();
  uint64_t seed = 1400;
  for (const bool f32 : {true, false}) {
    for (const int64_t vocab : {int64_t{152064}, int64_t{1001}, int64_t{7}, int64_t{1}}) {
      SCOPED_TRACE(std::string(f32 ? "f32 " : "bf16 ") + std::to_string(vocab));
      // Four rows at a row stride past the vocab: plain, a tie for the max (lower index wins), a
      // NaN (ignored), and all NaN (index 0).
      const int64_t rows = 4, ld = vocab + 3;
      std::vector<float> all(static_cast<size_t>(rows * ld), 0.0f);
      std::vector<int64_t> want(rows);
      for (int64_t r = 0; r < rows; ++r) {
        Logits l = make_logits(vocab, true, ++seed);
        float* row = all.data() + r * ld;
        std::copy(l.values.begin(), l.values.end(), row);
        if (r == 1 && vocab > 2) row[vocab - 1] = row[vocab / 2] = 100.0f;
        if (r == 2) row[vocab / 3] = std::numeric_limits<float>::quiet_NaN();
        if (r == 3) std::fill(row, row + vocab, std::numeric_limits<float>::quiet_NaN());
        if (!f32) {
          for (int64_t i = 0; i < vocab; ++i) row[i] = bf16_to_float(float_to_bf16(row[i]));
        }
        want[r] = kernels::reference::argmax(row, vocab);
      }
      DeviceBuffer dl;
      if (f32) {
        dl = upload(all);
      } else {
        dl = upload(to_bf16(all).bits);
      }
      DeviceBuffer dids(static_cast<size_t>(rows) * 8);
      ASSERT_TRUE(dl.ok() && dids.ok());
      DENSE_CUDA_OK(poison(dids.get(), dids.bytes()));
      kernels::ArgmaxParams p;
      p.logits = dl.get();
      p.f32 = f32;
      p.rows = rows;
      p.vocab = vocab;
      p.ld = ld;
      p.ids = dids.as<int64_t>();
      ASSERT_EQ(kernels::can_implement(p), nullptr);
      DENSE_CUDA_OK(kernels::argmax(p, nullptr));
      DENSE_CUDA_OK(cudaDeviceSynchronize());
      std::vector<int64_t> got(rows);
      DENSE_CUDA_OK(cudaMemcpy(got.data(), dids.get(), rows * 8, cudaMemcpyDeviceToHost));
      EXPECT_EQ(got, want);
    }
  }
}

TEST(DenseSampling, TopKMatchesReferenceExactly) {
  VAMBA_SKIP_WITHOUT_GPU();
  uint64_t seed = 1500;
  for (const bool f32 : {true, false}) {
    // bf16 logits over 152064 entries tie often: the lower index must come first.
    for (const int64_t k : {int64_t{1}, int64_t{20}, int64_t{1000}}) {
      SCOPED_TRACE(std::string(f32 ? "f32 k=" : "bf16 k=") + std::to_string(k));
      const int64_t vocab = 152064;
      Logits l = make_logits(vocab, f32, ++seed);
      l.values[12345] = std::numeric_limits<float>::quiet_NaN();  // never among the top
      upload_logits(&l);
      DeviceBuffer ws(kernels::sampling_workspace_bytes(vocab));
      DeviceBuffer dv(static_cast<size_t>(k) * 4), di(static_cast<size_t>(k) * 8);
      ASSERT_TRUE(l.dev.ok() && ws.ok() && dv.ok() && di.ok());
      DENSE_CUDA_OK(poison(dv.get(), dv.bytes()));
      DENSE_CUDA_OK(poison(di.get(), di.bytes()));
      kernels::TopKParams p;
      p.logits = l.dev.get();
      p.f32 = f32;
      p.vocab = vocab;
      p.k = k;
      p.values = dv.as<float>();
      p.ids = di.as<int64_t>();
      p.workspace = ws.get();
      p.workspace_bytes = ws.bytes();
      ASSERT_EQ(kernels::can_implement(p), nullptr);
      DENSE_CUDA_OK(kernels::top_k(p, nullptr));
      DENSE_CUDA_OK(cudaDeviceSynchronize());
      std::vector<float> want_v(static_cast<size_t>(k));
      std::vector<int64_t> want_i(static_cast<size_t>(k)), got_i(static_cast<size_t>(k));
      kernels::reference::top_k(l.values.data(), vocab, k, want_v.data(), want_i.data());
      DENSE_CUDA_OK(cudaMemcpy(got_i.data(), di.get(), k * 8, cudaMemcpyDeviceToHost));
      EXPECT_EQ(got_i, want_i);
      EXPECT_EQ(download_f32(dv.get(), static_cast<size_t>(k)), want_v);
    }
  }
}

// Samples one token on the device.
int64_t device_sample(const Logits& l, int64_t vocab, const kernels::reference::SamplingParams& sp,
                      double u, const DeviceBuffer& ws, const DeviceBuffer& did) {
  kernels::SampleParams p;
  p.logits = l.dev.get();
  p.f32 = l.f32;
  p.vocab = vocab;
  p.temperature = sp.temperature;
  p.top_k = sp.top_k;
  p.top_p = sp.top_p;
  p.u = u;
  p.id = did.as<int64_t>();
  p.workspace = ws.get();
  p.workspace_bytes = ws.bytes();
  if (kernels::can_implement(p) != nullptr) return -2;
  if (cudaMemset(did.get(), 0xff, 8) != cudaSuccess) return -3;
  if (kernels::sample(p, nullptr) != cudaSuccess) return -4;
  int64_t id = -5;
  if (cudaMemcpy(&id, did.get(), 8, cudaMemcpyDeviceToHost) != cudaSuccess) return -6;
  return id;
}

TEST(DenseSampling, SamplePicksTheReferenceTokenForTheSameU) {
  VAMBA_SKIP_WITHOUT_GPU();
  using SP = kernels::reference::SamplingParams;
  const SP settings[] = {{1.0f, 0, 1.0f},  {0.7f, 50, 1.0f}, {1.0f, 0, 0.9f},
                         {0.8f, 20, 0.8f}, {1.3f, 1, 1.0f},  {2.0f, 0, 0.5f}};
  uint64_t seed = 1600;
  for (const bool f32 : {true, false}) {
    const int64_t vocab = kEmulated ? 4099 : 152064;
    Logits l = make_logits(vocab, f32, ++seed, 3.0f);
    upload_logits(&l);
    DeviceBuffer ws(kernels::sampling_workspace_bytes(vocab)), did(8);
    ASSERT_TRUE(l.dev.ok() && ws.ok() && did.ok());
    for (const SP& sp : settings) {
      SCOPED_TRACE(std::string(f32 ? "f32" : "bf16") + " T=" + std::to_string(sp.temperature) +
                   " k=" + std::to_string(sp.top_k) + " p=" + std::to_string(sp.top_p));
      std::mt19937_64 rng(++seed);
      std::uniform_real_distribution<double> unif(0.0, 1.0);
      int boundary = 0;
      for (int i = 0; i < (kEmulated ? 6 : 40); ++i) {
        const double u = unif(rng);
        const int64_t got = device_sample(l, vocab, sp, u, ws, did);
        const int64_t want = kernels::reference::sample(l.values.data(), vocab, sp, u);
        if (got == want) continue;
        // The device's probabilities differ from the reference's in the last bits (fp32 exp), so a
        // u within ~1e-6 of a token boundary may fall on the neighbour. Anything else is a defect.
        const int64_t lo =
            kernels::reference::sample(l.values.data(), vocab, sp, std::max(0.0, u - 1e-6));
        const int64_t hi =
            kernels::reference::sample(l.values.data(), vocab, sp, std::min(1.0 - 1e-12, u + 1e-6));
        EXPECT_TRUE(got == lo || got == hi) << "u=" << u << " got " << got << " want " << want;
        ++boundary;
      }
      EXPECT_LE(boundary, 1);
    }
  }
}

TEST(DenseSampling, FrequenciesMatchTheFilteredDistribution) {
  VAMBA_SKIP_WITHOUT_GPU();
  // 12 tokens with a tie at the top-k edge; T = 0.9, top-k 6 (7 kept: the tie), top-p 0.85.
  const std::vector<float> logits = {0.5f, 2.0f, -1.0f, 1.5f,  1.5f, 3.0f,
                                     0.0f, 1.0f, 1.2f,  -3.0f, 1.2f, 0.7f};
  const int64_t vocab = static_cast<int64_t>(logits.size());
  const kernels::reference::SamplingParams sp{0.9f, 6, 0.85f};

  // The allowed set and its probabilities, computed here from the definition: sort descending (ties
  // by index), keep everything ≥ the 6th value, softmax, keep the shortest prefix reaching 0.85.
  std::vector<int64_t> order(static_cast<size_t>(vocab));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return logits[a] > logits[b]; });
  const float kth = logits[order[5]] / sp.temperature;
  std::vector<int64_t> kept;
  for (int64_t i : order) {
    if (logits[i] / sp.temperature >= kth) kept.push_back(i);
  }
  std::vector<double> prob;
  double total = 0;
  for (int64_t i : kept) {
    prob.push_back(std::exp(static_cast<double>(logits[i] / sp.temperature) -
                            logits[order[0]] / sp.temperature));
    total += prob.back();
  }
  double cum = 0;
  size_t nucleus = 0;
  while (nucleus < kept.size() && cum < sp.top_p * total) cum += prob[nucleus++];
  std::vector<double> expected(static_cast<size_t>(vocab), 0.0);
  for (size_t j = 0; j < nucleus; ++j) expected[kept[j]] = prob[j] / cum;

  Logits l;
  l.values = logits;
  upload_logits(&l);
  DeviceBuffer ws(kernels::sampling_workspace_bytes(vocab)), did(8);
  ASSERT_TRUE(l.dev.ok() && ws.ok() && did.ok());
  const int draws = kEmulated ? 600 : 20000;
  std::vector<int> counts(static_cast<size_t>(vocab), 0);
  std::mt19937_64 rng(1700);
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  for (int i = 0; i < draws; ++i) {
    const int64_t id = device_sample(l, vocab, sp, unif(rng), ws, did);
    ASSERT_TRUE(id >= 0 && id < vocab) << id;
    ASSERT_GT(expected[id], 0.0) << "token " << id << " is outside the allowed set";
    ++counts[id];
  }
  for (int64_t i = 0; i < vocab; ++i) {
    const double mean = draws * expected[i];
    const double sigma = std::sqrt(draws * expected[i] * (1.0 - expected[i]));
    EXPECT_LE(std::abs(counts[i] - mean), 5.0 * sigma + 1.0)
        << "token " << i << ": " << counts[i] << " draws, expected " << mean;
  }
}

TEST(DenseSampling, RejectsBadParams) {
  kernels::SampleParams p;
  int dummy = 0;
  int64_t id = 0;
  p.logits = &dummy;
  p.vocab = 10;
  p.id = &id;
  p.workspace = &dummy;
  p.workspace_bytes = kernels::sampling_workspace_bytes(10);
  EXPECT_EQ(kernels::can_implement(p), nullptr);
  p.temperature = 0.0f;
  EXPECT_NE(kernels::can_implement(p), nullptr);
  p.temperature = 1.0f;
  p.u = 1.0;
  EXPECT_NE(kernels::can_implement(p), nullptr);
  p.u = 0.5;
  p.workspace_bytes = 16;
  EXPECT_NE(kernels::can_implement(p), nullptr);
}

}  // namespace
}  // namespace vamba::testing::dense
