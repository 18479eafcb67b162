// The CUDA runtime calls the dense tests make, over host memory (the emulated "device" memory).
// tests/kernels_cuda/emu/emu.cc provides the ones the kernels' launchers make.
#include <cuda_runtime.h>

#include <cstdlib>
#include <cstring>

extern "C" {

cudaError_t cudaMalloc(void** p, size_t n) {
  *p = std::aligned_alloc(256, (n + 255) / 256 * 256 + 256);
  return *p != nullptr ? cudaSuccess : cudaErrorMemoryAllocation;
}

cudaError_t cudaFree(void* p) {
  std::free(p);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t n, enum cudaMemcpyKind) {
  std::memmove(dst, src, n);
  return cudaSuccess;
}

cudaError_t cudaMemset(void* dst, int value, size_t n) {
  std::memset(dst, value, n);
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  *free_bytes = *total_bytes = 0;  // tests needing device-sized memory skip
  return cudaSuccess;
}

}  // extern "C"
