#include "engine/layers/mlp.h"

#include "engine/ops/activation.h"

namespace vamba {

StatusOr<Mlp> Mlp::load(const WeightLoader& loader, const std::string& prefix) {
  Mlp m;
  VAMBA_ASSIGN_OR_RETURN(m.gate_, Linear::load(loader, prefix + ".gate_proj", false));
  VAMBA_ASSIGN_OR_RETURN(m.up_, Linear::load(loader, prefix + ".up_proj", false));
  VAMBA_ASSIGN_OR_RETURN(m.down_, Linear::load(loader, prefix + ".down_proj", false));
  return m;
}

Status Mlp::forward(const Tensor& x, Tensor* y, const Stream& stream) const {
  Tensor gate, up;  // (n, intermediate)
  VAMBA_RETURN_IF_ERROR(gate_.forward(x, &gate, stream));
  VAMBA_RETURN_IF_ERROR(up_.forward(x, &up, stream));
  VAMBA_RETURN_IF_ERROR(ops::silu_mul(gate, up, &gate, stream));
  return down_.forward(gate, y, stream);
}

}  // namespace vamba
