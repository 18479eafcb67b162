// Where tests find the golden data (../shared/golden beside the checkout, or $VAMBA_GOLDEN_DIR), and
// the comparisons every parity test uses. Expected numbers always come from these files, never from
// the test source.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vamba::testing {

// $VAMBA_GOLDEN_DIR if set, else <repo>/../shared/golden.
std::string golden_dir();
// golden_dir() + "/" + relative.
std::string golden_path(const std::string& relative);

// ‖a − b‖ / ‖b‖ in double precision; +inf on size mismatch, NaN in a gives NaN (never passes).
double rel_l2(const std::vector<float>& a, const std::vector<float>& b);

// True when a CUDA device is usable by this build.
bool gpu_available();

}  // namespace vamba::testing

// CUDA tests may skip only where no GPU exists, and say so.
#define VAMBA_SKIP_WITHOUT_GPU()                                                     \
  do {                                                                               \
    if (!::vamba::testing::gpu_available())                                          \
      GTEST_SKIP() << "no CUDA GPU on this machine (CUDA tests run on the device)"; \
  } while (0)
