// Golden tensors by name from vamba-tiny/golden.safetensors (the reference's intermediates), for
// parity tests: the file is mapped once per process and shared by every lookup.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/tensor.h"

namespace vamba::testing {

// golden_path("vamba-tiny/golden.safetensors").
std::string golden_tensors_path();

// The tensor `name` as stored (CPU view into the mapping); NOT_FOUND names the file and tensor.
StatusOr<Tensor> golden_tensor(const std::string& name);

// Values of a floating tensor converted to f32. Fails the calling test (ADD_FAILURE) and returns an
// empty vector when the tensor is missing or not floating.
std::vector<float> golden_floats(const std::string& name);

// Values of an integer (i32/i64/u8/bool) tensor widened to i64; same failure behaviour.
std::vector<int64_t> golden_ints(const std::string& name);

// The stored shape; empty with ADD_FAILURE when missing.
Shape golden_shape(const std::string& name);

}  // namespace vamba::testing
