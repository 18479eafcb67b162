// Reads checkpoint weights for one device: on the CPU every weight becomes an f32 copy (converted
// once at load, so the reference ops run in f32); on CUDA weights go to the device in bf16 and the
// few f32 parameters (Mamba's A, D, dt_bias) in f32. Layers hold the resulting Tensors.
#pragma once

#include <string>
#include <vector>

#include "engine/core/stream.h"
#include "engine/core/tensor.h"
#include "engine/model/checkpoint.h"

namespace vamba {

class WeightLoader {
 public:
  WeightLoader(const Checkpoint& checkpoint, Device device, const Stream& stream)
      : checkpoint_(checkpoint), device_(device), stream_(stream) {}

  const Checkpoint& checkpoint() const { return checkpoint_; }
  const VambaConfig& config() const { return checkpoint_.config; }
  Device device() const { return device_; }
  const Stream& stream() const { return stream_; }

  // The weight `name` in the activation dtype (f32 CPU / bf16 CUDA) on the device.
  StatusOr<Tensor> get(const std::string& name) const;
  // Same, or an undefined Tensor when the checkpoint lacks it.
  StatusOr<Tensor> get_optional(const std::string& name) const;
  // The weight as f32 on the device (A_log, D, dt_bias).
  StatusOr<Tensor> get_f32(const std::string& name) const;
  // The weight's values as host floats (scalars such as alpha).
  StatusOr<std::vector<float>> host_floats(const std::string& name) const;
  // Places a host f32 tensor on the device in `dtype` (for derived parameters such as A).
  StatusOr<Tensor> place(const Tensor& host_f32, DType dtype) const;

 private:
  const Checkpoint& checkpoint_;
  Device device_;
  const Stream& stream_;
};

}  // namespace vamba
