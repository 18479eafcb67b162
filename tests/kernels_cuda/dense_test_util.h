// Helpers for the dense kernels' parity tests: device buffers, random bf16 data, poisoning.
//
// Each test draws fresh random inputs (fixed seeds per case, so a failure reproduces), rounds them
// to bf16 (what the kernel reads), runs the CPU reference (kernels/reference) on those rounded
// values in fp32, and compares by relative L2. Outputs are poisoned with NaN bytes before every
// launch, so an element the kernel fails to write makes rel_l2 NaN, which never passes.
#pragma once

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/core/dtype.h"
#include "tests/testing/golden.h"

namespace vamba::testing::dense {

// True in the CPU-emulation build (tests/kernels_cuda/dense_emu, every CUDA thread a fiber): the
// slowest cases shrink there; shapes that test indexing (odd widths, strides) stay.
#ifdef VAMBA_KERNEL_EMULATION
inline constexpr bool kEmulated = true;
#else
inline constexpr bool kEmulated = false;
#endif

// bf16 output rounding: round-to-nearest-even leaves a relative error of at most 2^-9 per element
// and an RMS of about 2^-8/sqrt(12) ≈ 1.1e-3 to 2^-7/sqrt(12) ≈ 2.3e-3 of the value (the ulp is
// 2^-8 to 2^-7 of it), so a kernel that computes in fp32 and rounds once lands near 1.5e-3 relative
// L2 against the unrounded fp32 reference. 4e-3 passes that with margin but fails any real defect
// (a wrong element among ~10^4 already costs more, an off-by-one column far more).
inline constexpr double kBf16OutTol = 4e-3;
// Two bf16 roundings in sequence (add_rms_norm: the residual is stored in bf16, then normalised):
// sqrt(2) × the above.
inline constexpr double kBf16TwiceTol = 6e-3;
// fp32 output from identical bf16 inputs: only the summation order differs (fp32 accumulation over
// K ≤ 2^15 terms: ~1e-6 relative).
inline constexpr double kF32OutTol = 1e-4;

#define DENSE_CUDA_OK(expr)                                                            \
  do {                                                                                 \
    const cudaError_t dense_e_ = (expr);                                               \
    ASSERT_EQ(dense_e_, cudaSuccess) << #expr << ": " << cudaGetErrorString(dense_e_); \
  } while (0)

// A cudaMalloc'd buffer, freed on scope exit.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes) : bytes_(bytes) {
    if (bytes > 0 && cudaMalloc(&ptr_, bytes) != cudaSuccess) ptr_ = nullptr;
  }
  ~DeviceBuffer() {
    if (ptr_ != nullptr) cudaFree(ptr_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) { o.ptr_ = nullptr; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      if (ptr_ != nullptr) cudaFree(ptr_);
      ptr_ = o.ptr_;
      bytes_ = o.bytes_;
      o.ptr_ = nullptr;
    }
    return *this;
  }

  bool ok() const { return bytes_ == 0 || ptr_ != nullptr; }
  void* get() const { return ptr_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// Host data in bf16 bits plus the same values as floats (the exact values the kernel reads).
struct Bf16Host {
  std::vector<uint16_t> bits;
  std::vector<float> values;
};

// n values with the given mean and standard deviation, rounded to bf16. Uniform rather than normal:
// the 7B shapes need ~10^9 draws (the lm_head weight alone is 5·10^8), and a splitmix64 uniform is
// several times cheaper than std::normal_distribution; the parity checks need varied values, not
// Gaussian tails.
inline Bf16Host random_bf16(size_t n, uint64_t seed, float scale = 1.0f, float mean = 0.0f) {
  Bf16Host h;
  h.bits.resize(n);
  h.values.resize(n);
  uint64_t state = seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
  const float half_width = scale * 1.7320508f;  // uniform on [−√3σ, √3σ] has deviation σ
  for (size_t i = 0; i < n; ++i) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    const float u = static_cast<float>(z >> 40) * (1.0f / 16777216.0f);  // [0, 1)
    const bf16 b = float_to_bf16(mean + half_width * (2.0f * u - 1.0f));
    h.bits[i] = b.bits;
    h.values[i] = bf16_to_float(b);
  }
  return h;
}

inline Bf16Host to_bf16(const std::vector<float>& v) {
  Bf16Host h;
  h.bits.resize(v.size());
  h.values.resize(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const bf16 b = float_to_bf16(v[i]);
    h.bits[i] = b.bits;
    h.values[i] = bf16_to_float(b);
  }
  return h;
}

inline std::vector<float> bf16_bits_to_float(const std::vector<uint16_t>& bits) {
  std::vector<float> out(bits.size());
  for (size_t i = 0; i < bits.size(); ++i) out[i] = bf16_to_float(bf16{bits[i]});
  return out;
}

inline DeviceBuffer upload(const void* host, size_t bytes) {
  DeviceBuffer d(bytes);
  if (d.ok() && bytes > 0) cudaMemcpy(d.get(), host, bytes, cudaMemcpyHostToDevice);
  return d;
}

template <typename T>
inline DeviceBuffer upload(const std::vector<T>& host) {
  return upload(host.data(), host.size() * sizeof(T));
}

// NaN in every bf16 and f32 element (all bits set).
inline cudaError_t poison(void* ptr, size_t bytes) { return cudaMemset(ptr, 0xff, bytes); }

inline std::vector<uint16_t> download_bf16(const void* dev, size_t n) {
  std::vector<uint16_t> out(n);
  cudaMemcpy(out.data(), dev, n * 2, cudaMemcpyDeviceToHost);
  return out;
}

inline std::vector<float> download_bf16_as_float(const void* dev, size_t n) {
  return bf16_bits_to_float(download_bf16(dev, n));
}

inline std::vector<float> download_f32(const void* dev, size_t n) {
  std::vector<float> out(n);
  cudaMemcpy(out.data(), dev, n * 4, cudaMemcpyDeviceToHost);
  return out;
}

// One grep-able line per compared tensor ("PARITY <what> rel_l2=<err>"), so a device run's log
// carries the numbers and not only pass/fail.
inline void report_parity(const std::string& what, double err) {
  std::printf("PARITY %s rel_l2=%.3e\n", what.c_str(), err);
}

// The (rows × cols) block of a row-strided array, as a dense vector.
template <typename T>
std::vector<T> gather_rows(const std::vector<T>& src, int64_t rows, int64_t cols, int64_t ld) {
  std::vector<T> out(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(out.data() + r * cols, src.data() + r * ld, static_cast<size_t>(cols) * sizeof(T));
  }
  return out;
}

// True when every element of a row-strided bf16 array outside the (rows × cols) block still holds
// the poison (all bits set): the kernel wrote nothing past the row ends.
inline bool padding_untouched(const std::vector<uint16_t>& bits, int64_t rows, int64_t cols,
                              int64_t ld) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = cols; c < ld; ++c) {
      if (bits[static_cast<size_t>(r * ld + c)] != 0xffff) return false;
    }
  }
  return true;
}

}  // namespace vamba::testing::dense
