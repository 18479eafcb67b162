#include "tests/gpu_golden/bf16_tolerance.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/testing/golden.h"

namespace vamba::testing {

double bf16_tolerance(const std::string& name) {
  static const nlohmann::json stats = [] {
    std::ifstream in(golden_path("vamba-tiny/stats.json"));
    nlohmann::json j;
    if (in) j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    return j;
  }();
  if (!stats.contains("bf16_rel_l2") || !stats["bf16_rel_l2"].contains(name)) {
    ADD_FAILURE() << "stats.json has no bf16_rel_l2 for " << name;
    return 0.0;
  }
  return std::max(2.0 * stats["bf16_rel_l2"][name].get<double>(), 1e-6);
}

}  // namespace vamba::testing
