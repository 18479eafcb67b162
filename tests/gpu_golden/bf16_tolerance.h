// The README's bf16 contract: a bf16 engine's tensor is within 2x the reference's own bf16 spread
// (stats.json -> bf16_rel_l2) of the fp32 golden tensor.
#pragma once

#include <string>

namespace vamba::testing {

// 2 x bf16_rel_l2[name] from golden stats.json, floored at 1e-6 (a spread of exactly 0, as for the
// embedding gather, still allows float noise). Fails the test when the name is missing.
double bf16_tolerance(const std::string& name);

}  // namespace vamba::testing
