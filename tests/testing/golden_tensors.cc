#include "tests/testing/golden_tensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <mutex>

#include "engine/model/safetensors.h"
#include "tests/testing/golden.h"

namespace vamba::testing {
namespace {

// Opened once; later calls reuse the mapping (or the error).
const StatusOr<std::shared_ptr<SafetensorsFile>>& golden_file() {
  static const StatusOr<std::shared_ptr<SafetensorsFile>> file =
      SafetensorsFile::open(golden_tensors_path());
  return file;
}

}  // namespace

std::string golden_tensors_path() { return golden_path("vamba-tiny/golden.safetensors"); }

StatusOr<Tensor> golden_tensor(const std::string& name) {
  const auto& file = golden_file();
  if (!file.ok()) return file.status();
  return (*file)->tensor(name);
}

std::vector<float> golden_floats(const std::string& name) {
  auto t = golden_tensor(name);
  if (!t.ok()) {
    ADD_FAILURE() << t.status().to_string();
    return {};
  }
  auto values = t->to_float_vector();
  if (!values.ok()) {
    ADD_FAILURE() << golden_tensors_path() << ": tensor '" << name << "' (" << t->describe()
                  << "): " << values.status().to_string();
    return {};
  }
  return std::move(values).value();
}

std::vector<int64_t> golden_ints(const std::string& name) {
  auto t = golden_tensor(name);
  if (!t.ok()) {
    ADD_FAILURE() << t.status().to_string();
    return {};
  }
  const int64_t n = t->numel();
  std::vector<int64_t> out(static_cast<size_t>(n));
  const auto* base = static_cast<const uint8_t*>(t->raw_data());
  // memcpy per element: the mapped data need not be aligned for the element type.
  for (int64_t i = 0; i < n; ++i) {
    switch (t->dtype()) {
      case DType::kI64:
        std::memcpy(&out[i], base + 8 * i, 8);
        break;
      case DType::kI32: {
        int32_t v;
        std::memcpy(&v, base + 4 * i, 4);
        out[i] = v;
        break;
      }
      case DType::kU8:
      case DType::kBool:
        out[i] = base[i];
        break;
      default:
        ADD_FAILURE() << golden_tensors_path() << ": tensor '" << name << "' is "
                      << dtype_name(t->dtype()) << ", not an integer tensor";
        return {};
    }
  }
  return out;
}

Shape golden_shape(const std::string& name) {
  auto t = golden_tensor(name);
  if (!t.ok()) {
    ADD_FAILURE() << t.status().to_string();
    return {};
  }
  return t->shape();
}

}  // namespace vamba::testing
