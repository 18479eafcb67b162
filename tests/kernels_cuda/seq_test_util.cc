#include "tests/kernels_cuda/seq_test_util.h"

#include <cuda_runtime_api.h>

#include <cstdlib>
#include <new>

namespace vamba::seqtest {

#ifdef VAMBA_KERNEL_EMULATION

bool emulated() { return true; }

void* dev_alloc(size_t bytes) { return ::operator new(bytes, std::align_val_t(256)); }
void dev_free(void* p) { ::operator delete(p, std::align_val_t(256)); }
void copy_to_device(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void copy_to_host(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void dev_fill_bytes(void* p, int byte, size_t bytes) { std::memset(p, byte, bytes); }
void dev_synchronize() {}
std::string last_error() { return ""; }

#else

bool emulated() { return false; }

namespace {
void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    ADD_FAILURE() << what << ": " << cudaGetErrorString(e);
  }
}
}  // namespace

void* dev_alloc(size_t bytes) {
  void* p = nullptr;
  check(cudaMalloc(&p, bytes), "cudaMalloc");
  return p;
}
void dev_free(void* p) { check(cudaFree(p), "cudaFree"); }
void copy_to_device(void* dst, const void* src, size_t bytes) {
  check(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "cudaMemcpy H2D");
}
void copy_to_host(void* dst, const void* src, size_t bytes) {
  check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy D2H");
}
void dev_fill_bytes(void* p, int byte, size_t bytes) {
  check(cudaMemset(p, byte, bytes), "cudaMemset");
}
void dev_synchronize() { check(cudaDeviceSynchronize(), "cudaDeviceSynchronize"); }
std::string last_error() {
  const cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? "" : cudaGetErrorString(e);
}

#endif

std::vector<float> random_bf16_values(size_t n, std::mt19937& rng, float stddev) {
  std::normal_distribution<float> dist(0.0f, stddev);
  std::vector<float> v(n);
  for (auto& x : v) x = bf16_to_float(float_to_bf16(dist(rng)));
  return v;
}

std::vector<float> random_uniform(size_t n, std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

std::vector<bf16> to_bf16(const std::vector<float>& v) {
  std::vector<bf16> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = float_to_bf16(v[i]);
  return out;
}

std::vector<float> to_float(const std::vector<bf16>& v) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = bf16_to_float(v[i]);
  return out;
}

std::vector<float> columns(const std::vector<float>& m, int64_t rows, int64_t ld, int64_t col0,
                           int64_t cols) {
  std::vector<float> out(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) out[r * cols + c] = m[r * ld + col0 + c];
  }
  return out;
}

}  // namespace vamba::seqtest
