#include "tests/testing/golden.h"

#include <cmath>
#include <cstdlib>
#include <limits>

#include "engine/core/device.h"

namespace vamba::testing {

std::string golden_dir() {
  if (const char* env = std::getenv("VAMBA_GOLDEN_DIR"); env && *env) return env;
  return VAMBA_DEFAULT_GOLDEN_DIR;
}

std::string golden_path(const std::string& relative) { return golden_dir() + "/" + relative; }

double rel_l2(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    num += d * d;
    den += static_cast<double>(b[i]) * b[i];
  }
  if (std::isnan(num)) return num;
  if (den == 0) return num == 0 ? 0 : std::numeric_limits<double>::infinity();
  return std::sqrt(num / den);
}

bool gpu_available() { return cuda::available(); }

}  // namespace vamba::testing
