#include "engine/layers/mlp.h"

#include "engine/ops/activation.h"
#include "engine/ops/linear.h"

namespace vamba {

StatusOr<Mlp> Mlp::load(const WeightLoader& loader, const std::string& prefix) {
  Mlp m;
  VAMBA_ASSIGN_OR_RETURN(m.gate_, Linear::load(loader, prefix + ".gate_proj", false));
  VAMBA_ASSIGN_OR_RETURN(m.up_, Linear::load(loader, prefix + ".up_proj", false));
  VAMBA_ASSIGN_OR_RETURN(m.down_, Linear::load(loader, prefix + ".down_proj", false));
  return m;
}

Status Mlp::forward(const Tensor& x, Tensor* y, const Stream& stream) const {
  Tensor act;  // (n, intermediate): silu(gate) ⊙ up, one fused product for decode shapes
  VAMBA_RETURN_IF_ERROR(ops::linear_swiglu(x, gate_.weight(), up_.weight(), &act, stream));
  return down_.forward(act, y, stream);
}

}  // namespace vamba
