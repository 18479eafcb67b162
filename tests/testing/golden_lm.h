// The golden tiny checkpoint's language model on the CPU, loaded once per test process and shared
// by the golden model tests, and a tensor's values as floats for comparisons.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "engine/models/vamba_lm.h"
#include "tests/testing/golden.h"

namespace vamba::testing {

struct GoldenLm {
  Checkpoint checkpoint;
  std::unique_ptr<VambaLm> lm;
};

// Loaded on first use; on failure a test failure is recorded and lm stays null.
inline GoldenLm* golden_cpu_lm() {
  static GoldenLm* s = [] {
    auto* out = new GoldenLm();
    auto ck = Checkpoint::open(golden_path("vamba-tiny"));
    if (!ck.ok()) {
      ADD_FAILURE() << ck.status().to_string();
      return out;
    }
    out->checkpoint = std::move(ck).value();
    auto lm = VambaLm::load(out->checkpoint, Device::cpu(), Stream());
    if (!lm.ok()) {
      ADD_FAILURE() << lm.status().to_string();
      return out;
    }
    out->lm = std::move(lm).value();
    return out;
  }();
  return s;
}

// t's values as floats (a test failure, and an empty vector, if it cannot be read).
inline std::vector<float> tensor_values(const Tensor& t) {
  auto v = t.to_float_vector();
  EXPECT_TRUE(v.ok()) << v.status().to_string();
  return v.ok() ? *v : std::vector<float>();
}

}  // namespace vamba::testing
