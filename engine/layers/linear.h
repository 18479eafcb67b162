// nn.Linear with weights held by checkpoint name.
#pragma once

#include <vector>

#include "engine/layers/weight_loader.h"

namespace vamba {

class Linear {
 public:
  Linear() = default;
  // "<prefix>.weight" (out, in) and, when has_bias, "<prefix>.bias" (out).
  static StatusOr<Linear> load(const WeightLoader& loader, const std::string& prefix,
                               bool has_bias);

  // A Linear over given tensors (weight (out, in), bias (out) or undefined).
  static Linear from_tensors(Tensor weight, Tensor bias);

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

// Linears that read the same input (self-attention's q, k and v), fused into one weight with their
// rows one after another, so a decode step reads all of them in one product (ops::linear_split).
// fuse_linears() turns each part into a view of the fused weight: no memory is added once the
// parts' original tensors are gone, and the parts still run alone where that is faster (prefill).
struct FusedLinear {
  Tensor weight;  // (Σ out, in)
  Tensor bias;    // (Σ out), or undefined when no part has a bias
  std::vector<int64_t> widths;

  // ys[i] = parts[i].forward(x).
  Status forward(const Tensor& x, std::vector<Tensor>* ys, const Stream& stream) const;
};

// The parts must share in_features, and either all have a bias or none.
StatusOr<FusedLinear> fuse_linears(const std::vector<Linear*>& parts, const Stream& stream);

}  // namespace vamba
