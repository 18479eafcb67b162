#include "engine/ops/common.h"

namespace vamba::ops::detail {

Status bad(const char* op, const char* name, const std::string& what, const Tensor& t) {
  return invalid_argument(std::string(op) + ": " + name + " must be " + what + ", got " +
                          (t.defined() ? t.describe() : std::string("an undefined tensor")));
}

Status expect(const char* op, const char* name, const Tensor& t, int rank, DType dtype,
              Device device) {
  const std::string what = std::string(dtype_name(dtype)) +
                           (rank >= 0 ? " of rank " + std::to_string(rank) : std::string()) +
                           " on " + device.to_string();
  if (!t.defined() || t.dtype() != dtype || !(t.device() == device) ||
      (rank >= 0 && t.rank() != rank)) {
    return bad(op, name, what, t);
  }
  return ok_status();
}

Status expect_dim(const char* op, const char* name, const Tensor& t, int dim, int64_t size) {
  if (t.rank() <= dim || t.dim(dim) != size) {
    return bad(op, name, "of size " + std::to_string(size) + " in dim " + std::to_string(dim), t);
  }
  return ok_status();
}

Status prepare_output(const char* op, const char* name, Tensor* out, const Shape& shape,
                      DType dtype, Device device) {
  if (out == nullptr) return null_arg(op, name);
  if (!out->defined()) {
    VAMBA_ASSIGN_OR_RETURN(*out, Tensor::empty(shape, dtype, device));
    return ok_status();
  }
  if (out->shape() != shape || out->dtype() != dtype || !(out->device() == device)) {
    return bad(
        op, name,
        std::string(dtype_name(dtype)) + shape_to_string(shape) + " on " + device.to_string(),
        *out);
  }
  return ok_status();
}

std::string shape2(int64_t a, int64_t b) {
  std::string s = "(";
  s.append(std::to_string(a)).append(", ").append(std::to_string(b)).append(")");
  return s;
}

Status null_arg(const char* op, const char* name) {
  return invalid_argument(std::string(op) + ": " + name + " is null");
}

}  // namespace vamba::ops::detail
