// Shared checks of the tensor-level ops: each op validates shapes, dtypes and devices once, then
// dispatches to the CPU reference or the CUDA backend.
//
// Outputs (Tensor*): if *out is undefined the op allocates it on the inputs' device with the
// documented shape and dtype; if it is defined it must already have exactly that shape, dtype and
// device, and the op writes into it (so callers may pass views into caches or reuse buffers).
// Optional inputs are passed as an undefined Tensor ("Tensor()").
//
// dtypes: on the CPU every floating tensor is f32. On CUDA, activations and weights are bf16;
// recurrent states (Mamba conv and SSM state), rotary tables, dt and the per-head Mamba parameters
// (A, D, dt_bias) are f32. Each op's header says which is which.
#pragma once

#include <string>

#include "engine/core/tensor.h"

namespace vamba::ops {

// The dtype of activations and weights on `device`: f32 on the CPU, bf16 on CUDA.
inline DType activation_dtype(Device device) {
  return device.is_cuda() ? DType::kBF16 : DType::kF32;
}

namespace detail {

// "op: name must be <what>, got <describe()>"
Status bad(const char* op, const char* name, const std::string& what, const Tensor& t);

// Checks that t is defined, has `rank` dims (or any when rank < 0), `dtype` and `device`.
Status expect(const char* op, const char* name, const Tensor& t, int rank, DType dtype,
              Device device);
// Checks a dimension's size.
Status expect_dim(const char* op, const char* name, const Tensor& t, int dim, int64_t size);
// Allocates *out or checks it against (shape, dtype, device).
Status prepare_output(const char* op, const char* name, Tensor* out, const Shape& shape,
                      DType dtype, Device device);
// "(a, b)" for messages (built by appending: GCC 12 warns falsely on chained string operator+).
std::string shape2(int64_t a, int64_t b);
// A failure when an op pointer argument that must be set is null.
Status null_arg(const char* op, const char* name);

}  // namespace detail
}  // namespace vamba::ops
