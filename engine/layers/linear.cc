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

Linear Linear::from_tensors(Tensor weight, Tensor bias) {
  Linear l;
  l.weight_ = std::move(weight);
  l.bias_ = std::move(bias);
  return l;
}

Status Linear::forward(const Tensor& x, Tensor* y, const Stream& stream) const {
  return ops::linear(x, weight_, bias_, y, stream);
}

Status FusedLinear::forward(const Tensor& x, std::vector<Tensor>* ys, const Stream& stream) const {
  return ops::linear_split(x, weight, bias, widths, ys, stream);
}

StatusOr<FusedLinear> fuse_linears(const std::vector<Linear*>& parts, const Stream& stream) {
  if (parts.empty()) return invalid_argument("fuse_linears: no parts");
  const Tensor& first = parts[0]->weight();
  const bool with_bias = parts[0]->bias().defined();
  int64_t rows = 0;
  for (const Linear* part : parts) {
    if (part->in_features() != first.dim(1) || part->weight().dtype() != first.dtype() ||
        part->bias().defined() != with_bias) {
      return invalid_argument(
          "fuse_linears: the parts differ in input width, dtype or having a bias");
    }
    rows += part->out_features();
  }
  FusedLinear fused;
  VAMBA_ASSIGN_OR_RETURN(fused.weight,
                         Tensor::empty({rows, first.dim(1)}, first.dtype(), first.device()));
  if (with_bias) {
    VAMBA_ASSIGN_OR_RETURN(fused.bias,
                           Tensor::empty({rows}, parts[0]->bias().dtype(), first.device()));
  }
  std::vector<Linear> views;
  int64_t row = 0;
  for (Linear* part : parts) {
    const int64_t n = part->out_features();
    VAMBA_ASSIGN_OR_RETURN(Tensor w, fused.weight.slice_rows(row, row + n));
    VAMBA_RETURN_IF_ERROR(w.copy_from(part->weight(), &stream));
    Tensor b;
    if (with_bias) {
      VAMBA_ASSIGN_OR_RETURN(b, fused.bias.slice_rows(row, row + n));
      VAMBA_RETURN_IF_ERROR(b.copy_from(part->bias(), &stream));
    }
    fused.widths.push_back(n);
    row += n;
    views.push_back(Linear::from_tensors(std::move(w), std::move(b)));
  }
  // The copies finish before the parts' own tensors are released.
  VAMBA_RETURN_IF_ERROR(stream.synchronize());
  for (size_t i = 0; i < parts.size(); ++i) *parts[i] = std::move(views[i]);
  return fused;
}

}  // namespace vamba
