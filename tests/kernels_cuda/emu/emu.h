// A CPU emulation of the CUDA features the sequence-mixing kernels use, so that their indexing and
// synchronisation can be checked without a GPU. Every CUDA thread of a block is a fiber (ucontext);
// fibers switch only at __syncthreads and at warp collectives (shuffles, mma.sync, ldmatrix), which
// run when all live threads of the group have arrived — a barrier that some threads of a group
// never reach is reported as a deadlock. Shared memory (static and dynamic) is a fresh arena per
// block filled with NaN bytes; cp.async copies land only at the matching cp.async.wait_group.
// mma.sync and ldmatrix follow the fragment layouts of the PTX ISA (see
// kernels/common/warp_mma.cuh).
//
// Used by emu_transform.py: it rewrites the kernels' .cu files (launches, shared declarations) into
// host C++ that includes this header first.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>

#ifndef VAMBA_KERNEL_EMULATION
#define VAMBA_KERNEL_EMULATION 1
#endif
#define __launch_bounds__(...)

namespace emu {

struct ThreadState {
  uint3 thread_idx;
  uint3 block_idx;
  dim3 block_dim;
  dim3 grid_dim;
};
ThreadState& current();

// Launches f (a kernel call) over the grid, block by block, each block's threads as fibers.
void launch(const std::function<void()>& f, dim3 grid, dim3 block, size_t dyn_smem);

template <class F>
void launch_kernel(F f, dim3 grid, dim3 block, size_t dyn_smem = 0, cudaStream_t = nullptr) {
  launch(std::function<void()>(f), grid, block, dyn_smem);
}

// The block's dynamic shared memory (NaN-filled at block start).
unsigned char* dyn_smem();
// The k-th static __shared__ declaration a thread executes: the same pointer for every thread of
// the block, NaN-filled at block start.
void* shared_alloc_bytes(size_t bytes);
template <class T>
T* shared_alloc(size_t n) {
  return static_cast<T*>(shared_alloc_bytes(sizeof(T) * n));
}

// Collectives. syncwarp is a warp barrier (it runs when all 32 lanes arrive), so that the
// cp.async copies each lane completed before it are visible to the others, as on the device.
void syncthreads();
void syncwarp();
float shfl_xor(float v, int lane_mask);
float shfl_up(float v, int delta);
void mma_16816(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]);
void ldmatrix_x4(uint32_t (&r)[4], const void* row_addr, bool trans);
void cp_async(void* dst, const void* src, bool valid);
void cp_async_commit();
void cp_async_wait(int pending);

// Counters for tests: warp collectives executed since the last reset.
uint64_t collectives();

}  // namespace emu

#define threadIdx (::emu::current().thread_idx)
#define blockIdx (::emu::current().block_idx)
#define blockDim (::emu::current().block_dim)
#define gridDim (::emu::current().grid_dim)

inline void __syncthreads() { ::emu::syncthreads(); }
inline void __syncwarp(unsigned = 0xffffffffu) { ::emu::syncwarp(); }
inline float __shfl_xor_sync(unsigned, float v, int lane_mask) {
  return ::emu::shfl_xor(v, lane_mask);
}
inline float __shfl_up_sync(unsigned, float v, unsigned delta) {
  return ::emu::shfl_up(v, static_cast<int>(delta));
}
inline float __int_as_float(int x) {
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}
inline float __expf(float x) { return std::exp(x); }
// cuda_runtime.h defines this template only for nvcc.
template <class T>
inline cudaError_t cudaFuncSetAttribute(T*, cudaFuncAttribute, int) {
  return cudaSuccess;
}

namespace vamba::kernels::mma {

inline void mma_bf16_16816(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  ::emu::mma_16816(d, a, b);
}
inline void ldmatrix_x4(uint32_t (&r)[4], const void* row_addr) {
  ::emu::ldmatrix_x4(r, row_addr, false);
}
inline void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row_addr) {
  ::emu::ldmatrix_x4(r, row_addr, true);
}
inline void cp_async_16(void* dst, const void* src, bool valid) {
  ::emu::cp_async(dst, src, valid);
}
inline void cp_async_commit() { ::emu::cp_async_commit(); }
template <int kPending>
inline void cp_async_wait() {
  ::emu::cp_async_wait(kPending);
}

}  // namespace vamba::kernels::mma
