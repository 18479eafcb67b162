// Qwen2's SwiGLU MLP: down_proj(silu(gate_proj(x)) · up_proj(x)), no biases.
#pragma once

#include "engine/layers/linear.h"

namespace vamba {

class Mlp {
 public:
  Mlp() = default;
  // "<prefix>.gate_proj", "<prefix>.up_proj", "<prefix>.down_proj".
  static StatusOr<Mlp> load(const WeightLoader& loader, const std::string& prefix);
  // x: (n, hidden) → y: (n, hidden).
  Status forward(const Tensor& x, Tensor* y, const Stream& stream) const;

 private:
  Linear gate_, up_, down_;
};

}  // namespace vamba
