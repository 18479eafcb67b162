// Helpers of the sequence-mixing kernel tests (seq_*_test.cc). The same test bodies build twice:
// against the real kernels (label gpu, run on the device machine) and against the CPU emulation of
// the kernels (tests/kernels_cuda/emu, label unit, run by CI everywhere) with smaller shapes.
// "Device" memory is cudaMalloc'd in the first build and host memory in the second.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "engine/core/dtype.h"
#include "tests/testing/golden.h"

namespace vamba::seqtest {

// True in the emulation build: tests shrink their shapes (the emulator runs a warp collective in
// microseconds, not nanoseconds).
bool emulated();

// Device memory: allocation, copies (synchronous), poisoning, and the stream kernels run on.
void* dev_alloc(size_t bytes);
void dev_free(void* p);
void copy_to_device(void* dst, const void* src, size_t bytes);
void copy_to_host(void* dst, const void* src, size_t bytes);
void dev_fill_bytes(void* p, int byte, size_t bytes);  // 0xff: NaN in bf16 and f32
void dev_synchronize();
// The last kernel error (cudaGetLastError after a synchronize), as text; empty when none.
std::string last_error();

// An owned device buffer of T.
template <class T>
class DevBuf {
 public:
  DevBuf() = default;
  explicit DevBuf(size_t n) : n_(n), p_(static_cast<T*>(dev_alloc(sizeof(T) * (n > 0 ? n : 1)))) {}
  explicit DevBuf(const std::vector<T>& host) : DevBuf(host.size()) { upload(host); }
  ~DevBuf() {
    if (p_) dev_free(p_);
  }
  DevBuf(DevBuf&& o) noexcept : n_(o.n_), p_(o.p_) { o.p_ = nullptr; }
  DevBuf& operator=(DevBuf&& o) noexcept {
    std::swap(n_, o.n_);
    std::swap(p_, o.p_);
    return *this;
  }
  DevBuf(const DevBuf&) = delete;
  DevBuf& operator=(const DevBuf&) = delete;

  T* get() const { return p_; }
  size_t size() const { return n_; }
  void upload(const std::vector<T>& host) { copy_to_device(p_, host.data(), sizeof(T) * n_); }
  std::vector<T> download() const {
    std::vector<T> host(n_);
    copy_to_host(host.data(), p_, sizeof(T) * n_);
    return host;
  }
  void poison() { dev_fill_bytes(p_, 0xff, sizeof(T) * n_); }

 private:
  size_t n_ = 0;
  T* p_ = nullptr;
};

// n values ~ N(0, stddev²) rounded to bf16 (so the fp32 reference and the bf16 kernel read the
// same numbers).
std::vector<float> random_bf16_values(size_t n, std::mt19937& rng, float stddev = 1.0f);
std::vector<float> random_uniform(size_t n, std::mt19937& rng, float lo, float hi);
std::vector<bf16> to_bf16(const std::vector<float>& v);
std::vector<float> to_float(const std::vector<bf16>& v);

// Columns [col0, col0 + cols) of a (rows, ld) row-major matrix.
std::vector<float> columns(const std::vector<float>& m, int64_t rows, int64_t ld, int64_t col0,
                           int64_t cols);

}  // namespace vamba::seqtest

// CUDA builds skip where no GPU exists; the emulation always runs.
#ifdef VAMBA_KERNEL_EMULATION
#define SEQ_REQUIRE_DEVICE() (void)0
#else
#define SEQ_REQUIRE_DEVICE() VAMBA_SKIP_WITHOUT_GPU()
#endif

// Asserts a launch returned cudaSuccess and that the kernels ran without error.
#define SEQ_EXPECT_LAUNCH(expr)                                                        \
  do {                                                                                 \
    const cudaError_t seq_err_ = (expr);                                               \
    ASSERT_EQ(seq_err_, cudaSuccess) << #expr << ": " << cudaGetErrorString(seq_err_); \
    ::vamba::seqtest::dev_synchronize();                                               \
    const std::string seq_last_ = ::vamba::seqtest::last_error();                      \
    ASSERT_TRUE(seq_last_.empty()) << #expr << ": " << seq_last_;                      \
  } while (0)
