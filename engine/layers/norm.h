// RMSNorm (Qwen2's and mamba_ssm's) and LayerNorm with weights held by checkpoint name.
#pragma once

#include "engine/layers/weight_loader.h"

namespace vamba {

class RmsNorm {
 public:
  RmsNorm() = default;
  // "<prefix>.weight" (dim).
  static StatusOr<RmsNorm> load(const WeightLoader& loader, const std::string& prefix, float eps);
  Status forward(const Tensor& x, Tensor* y, const Stream& stream) const;
  // residual += x; y = norm(residual).
  Status add_forward(Tensor* residual, const Tensor& x, Tensor* y, const Stream& stream) const;
  float eps() const { return eps_; }

 private:
  Tensor weight_;  // (dim)
  float eps_ = 1e-6f;
};

class LayerNorm {
 public:
  LayerNorm() = default;
  // "<prefix>.weight" and "<prefix>.bias" (dim); the bias is optional.
  static StatusOr<LayerNorm> load(const WeightLoader& loader, const std::string& prefix, float eps);
  Status forward(const Tensor& x, Tensor* y, const Stream& stream) const;

 private:
  Tensor weight_;  // (dim)
  Tensor bias_;    // (dim) or undefined
  float eps_ = 1e-6f;
};

}  // namespace vamba
