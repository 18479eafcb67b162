#include "engine/core/dtype.h"

#include <cmath>

namespace vamba {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::kBF16: case DType::kF16: return 2;
    case DType::kF32: case DType::kI32: return 4;
    case DType::kF64: case DType::kI64: return 8;
    case DType::kU8: case DType::kBool: return 1;
  }
  return 0;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kBF16: return "bf16";
    case DType::kF16: return "f16";
    case DType::kF32: return "f32";
    case DType::kF64: return "f64";
    case DType::kI32: return "i32";
    case DType::kI64: return "i64";
    case DType::kU8: return "u8";
    case DType::kBool: return "bool";
  }
  return "?";
}

StatusOr<DType> dtype_from_safetensors(std::string_view name) {
  if (name == "BF16") return DType::kBF16;
  if (name == "F16") return DType::kF16;
  if (name == "F32") return DType::kF32;
  if (name == "F64") return DType::kF64;
  if (name == "I32") return DType::kI32;
  if (name == "I64") return DType::kI64;
  if (name == "U8") return DType::kU8;
  if (name == "BOOL") return DType::kBool;
  return invalid_argument("unsupported safetensors dtype '" + std::string(name) + "'");
}

const char* dtype_to_safetensors(DType dtype) {
  switch (dtype) {
    case DType::kBF16: return "BF16";
    case DType::kF16: return "F16";
    case DType::kF32: return "F32";
    case DType::kF64: return "F64";
    case DType::kI32: return "I32";
    case DType::kI64: return "I64";
    case DType::kU8: return "U8";
    case DType::kBool: return "BOOL";
  }
  return "?";
}

float f16_to_float(f16 v) {
  const uint32_t sign = (v.bits >> 15) & 1u;
  const uint32_t exp = (v.bits >> 10) & 0x1fu;
  const uint32_t mant = v.bits & 0x3ffu;
  float out;
  if (exp == 0) {
    out = std::ldexp(static_cast<float>(mant), -24);  // subnormal or zero
  } else if (exp == 31) {
    out = mant ? NAN : INFINITY;
  } else {
    out = std::ldexp(static_cast<float>(mant | 0x400u), static_cast<int>(exp) - 25);
  }
  return sign ? -out : out;
}

f16 float_to_f16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return f16{static_cast<uint16_t>(sign | 0x7e00u)};  // NaN
  if (abs >= 0x477ff000u) return f16{static_cast<uint16_t>(sign | 0x7c00u)};  // overflow -> inf
  if (abs < 0x38800000u) {
    // Subnormal half: scale into the 10-bit mantissa with round-to-nearest-even.
    float a;
    std::memcpy(&a, &abs, 4);
    const float scaled = a * 16777216.0f;  // 2^24
    const uint32_t m = static_cast<uint32_t>(std::nearbyint(scaled));
    return f16{static_cast<uint16_t>(sign | m)};
  }
  const uint32_t rounded = abs + 0x0fffu + ((abs >> 13) & 1u);
  return f16{static_cast<uint16_t>(sign | ((rounded - 0x38000000u) >> 13))};
}

namespace {
template <typename T>
double load_as_double(const void* p, int64_t i) {
  return static_cast<double>(static_cast<const T*>(p)[i]);
}
double load_elem(const void* p, DType dt, int64_t i) {
  switch (dt) {
    case DType::kBF16: return bf16_to_float(static_cast<const bf16*>(p)[i]);
    case DType::kF16: return f16_to_float(static_cast<const f16*>(p)[i]);
    case DType::kF32: return load_as_double<float>(p, i);
    case DType::kF64: return load_as_double<double>(p, i);
    case DType::kI32: return load_as_double<int32_t>(p, i);
    case DType::kI64: return load_as_double<int64_t>(p, i);
    case DType::kU8: return load_as_double<uint8_t>(p, i);
    case DType::kBool: return load_as_double<bool>(p, i);
  }
  return 0;
}
void store_elem(void* p, DType dt, int64_t i, double v) {
  switch (dt) {
    case DType::kBF16: static_cast<bf16*>(p)[i] = float_to_bf16(static_cast<float>(v)); break;
    case DType::kF16: static_cast<f16*>(p)[i] = float_to_f16(static_cast<float>(v)); break;
    case DType::kF32: static_cast<float*>(p)[i] = static_cast<float>(v); break;
    case DType::kF64: static_cast<double*>(p)[i] = v; break;
    case DType::kI32: static_cast<int32_t*>(p)[i] = static_cast<int32_t>(v); break;
    case DType::kI64: static_cast<int64_t*>(p)[i] = static_cast<int64_t>(v); break;
    case DType::kU8: static_cast<uint8_t*>(p)[i] = static_cast<uint8_t>(v); break;
    case DType::kBool: static_cast<bool*>(p)[i] = v != 0; break;
  }
}
}  // namespace

Status convert_host(const void* src, DType src_dtype, void* dst, DType dst_dtype, int64_t n) {
  if (src_dtype == dst_dtype) {
    std::memcpy(dst, src, static_cast<size_t>(n) * dtype_size(src_dtype));
    return ok_status();
  }
  // The common hot cases get tight loops; everything else goes through double.
  if (src_dtype == DType::kBF16 && dst_dtype == DType::kF32) {
    auto* s = static_cast<const bf16*>(src);
    auto* d = static_cast<float*>(dst);
    for (int64_t i = 0; i < n; ++i) d[i] = bf16_to_float(s[i]);
    return ok_status();
  }
  if (src_dtype == DType::kF32 && dst_dtype == DType::kBF16) {
    auto* s = static_cast<const float*>(src);
    auto* d = static_cast<bf16*>(dst);
    for (int64_t i = 0; i < n; ++i) d[i] = float_to_bf16(s[i]);
    return ok_status();
  }
  for (int64_t i = 0; i < n; ++i) store_elem(dst, dst_dtype, i, load_elem(src, src_dtype, i));
  return ok_status();
}

}  // namespace vamba
