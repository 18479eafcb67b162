// Element types of tensors and checkpoints, and host-side conversions for the 16-bit floats.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "engine/core/status.h"

namespace vamba {

enum class DType : uint8_t { kBF16, kF16, kF32, kF64, kI32, kI64, kU8, kBool };

size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);  // "bf16", "f32", ...
// The safetensors header spelling: "BF16", "F16", "F32", "F64", "I32", "I64", "U8", "BOOL".
StatusOr<DType> dtype_from_safetensors(std::string_view name);
const char* dtype_to_safetensors(DType dtype);

// bfloat16 storage: the high half of an IEEE float. Conversion rounds to nearest even, NaN kept quiet.
struct bf16 {
  uint16_t bits = 0;
};
static_assert(sizeof(bf16) == 2);

inline float bf16_to_float(bf16 v) {
  uint32_t u = static_cast<uint32_t>(v.bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline bf16 float_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return bf16{static_cast<uint16_t>((u >> 16) | 0x40)};
  const uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
  return bf16{static_cast<uint16_t>((u + rounding) >> 16)};
}

// IEEE half precision storage.
struct f16 {
  uint16_t bits = 0;
};
static_assert(sizeof(f16) == 2);

float f16_to_float(f16 v);
f16 float_to_f16(float f);

// Maps a C++ element type to its DType (for typed accessors that check what they read).
template <typename T>
struct DTypeOf;
template <> struct DTypeOf<bf16> { static constexpr DType value = DType::kBF16; };
template <> struct DTypeOf<f16> { static constexpr DType value = DType::kF16; };
template <> struct DTypeOf<float> { static constexpr DType value = DType::kF32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::kF64; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::kI32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::kI64; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::kU8; };
template <> struct DTypeOf<bool> { static constexpr DType value = DType::kBool; };

// Converts n elements between any two floating dtypes (or identical dtypes) on the host.
Status convert_host(const void* src, DType src_dtype, void* dst, DType dst_dtype, int64_t n);

}  // namespace vamba
