#include "engine/layers/linear.h"

#include "engine/ops/linear.h"

namespace vamba {

StatusOr<Linear> Linear::load(const WeightLoader& loader, const std::string& prefix,
                              bool has_bias) {
  Linear l;
  VAMBA_ASSIGN_OR_RETURN(l.weight_, loader.get(prefix + ".weight"));
  if (l.weight_.rank() != 2) {
    return invalid_argument(prefix + ".weight must be 2-D, got " + l.weight_.describe());
  }
  if (has_bias) {
    VAMBA_ASSIGN_OR_RETURN(l.bias_, loader.get(prefix + ".bias"));
  }
  return l;
}

Status Linear::forward(const Tensor& x, Tensor* y, const Stream& stream) const {
  return ops::linear(x, weight_, bias_, y, stream);
}

}  // namespace vamba
