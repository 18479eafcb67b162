#include "engine/layers/weight_loader.h"

#include "engine/ops/common.h"

namespace vamba {

StatusOr<Tensor> WeightLoader::place(const Tensor& host, DType dtype) const {
  Tensor converted = host;
  if (host.dtype() != dtype || host.is_cuda()) {
    VAMBA_ASSIGN_OR_RETURN(converted, host.to_dtype_cpu(dtype));
  } else if (device_.is_cpu()) {
    // A copy, so the layer never holds a view into the read-only checkpoint mapping.
    VAMBA_ASSIGN_OR_RETURN(converted, host.to(Device::cpu()));
  }
  if (device_.is_cpu()) return converted;
  VAMBA_ASSIGN_OR_RETURN(Tensor out, converted.to(device_, &stream_));
  // `converted` may be a temporary host buffer: wait for the copy before it is freed.
  VAMBA_RETURN_IF_ERROR(stream_.synchronize());
  return out;
}

StatusOr<Tensor> WeightLoader::get(const std::string& name) const {
  VAMBA_ASSIGN_OR_RETURN(Tensor w, checkpoint_.weight(name));
  return place(w, ops::activation_dtype(device_));
}

StatusOr<Tensor> WeightLoader::get_optional(const std::string& name) const {
  auto w = checkpoint_.weight(name);
  if (!w.ok()) {
    if (w.status().code() == StatusCode::kNotFound) return Tensor();
    return w.status();
  }
  return place(*w, ops::activation_dtype(device_));
}

StatusOr<Tensor> WeightLoader::get_f32(const std::string& name) const {
  VAMBA_ASSIGN_OR_RETURN(Tensor w, checkpoint_.weight(name));
  return place(w, DType::kF32);
}

StatusOr<std::vector<float>> WeightLoader::host_floats(const std::string& name) const {
  VAMBA_ASSIGN_OR_RETURN(Tensor w, checkpoint_.weight(name));
  return w.to_float_vector();
}

}  // namespace vamba
