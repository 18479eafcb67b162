#include "engine/layers/norm.h"

#include "engine/ops/norm.h"

namespace vamba {

StatusOr<RmsNorm> RmsNorm::load(const WeightLoader& loader, const std::string& prefix, float eps) {
  RmsNorm n;
  VAMBA_ASSIGN_OR_RETURN(n.weight_, loader.get(prefix + ".weight"));
  n.eps_ = eps;
  return n;
}

Status RmsNorm::forward(const Tensor& x, Tensor* y, const Stream& stream) const {
  return ops::rms_norm(x, weight_, eps_, y, stream);
}

Status RmsNorm::add_forward(Tensor* residual, const Tensor& x, Tensor* y,
                            const Stream& stream) const {
  return ops::add_rms_norm(residual, x, weight_, eps_, y, stream);
}

StatusOr<LayerNorm> LayerNorm::load(const WeightLoader& loader, const std::string& prefix,
                                    float eps) {
  LayerNorm n;
  VAMBA_ASSIGN_OR_RETURN(n.weight_, loader.get(prefix + ".weight"));
  VAMBA_ASSIGN_OR_RETURN(n.bias_, loader.get_optional(prefix + ".bias"));
  n.eps_ = eps;
  return n;
}

Status LayerNorm::forward(const Tensor& x, Tensor* y, const Stream& stream) const {
  return ops::layer_norm(x, weight_, bias_, eps_, y, stream);
}

}  // namespace vamba
