// nn.Linear with weights held by checkpoint name.
#pragma once

#include "engine/layers/weight_loader.h"

namespace vamba {

class Linear {
 public:
  Linear() = default;
  // "<prefix>.weight" (out, in) and, when has_bias, "<prefix>.bias" (out).
  static StatusOr<Linear> load(const WeightLoader& loader, const std::string& prefix,
                               bool has_bias);

  // x: (..., in) → y: (..., out) (allocated when undefined).
  Status forward(const Tensor& x, Tensor* y, const Stream& stream) const;

  int64_t in_features() const { return weight_.dim(1); }
  int64_t out_features() const { return weight_.dim(0); }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }

 private:
  Tensor weight_;  // (out, in)
  Tensor bias_;    // (out) or undefined
};

}  // namespace vamba
