// Programmatic dependent launch (Hopper): lets a decode step's next kernel start while the one
// before it is still finishing, so the next kernel's blocks are already resident and its first
// weight loads in flight when its inputs become ready.
//
//   pdl_launch_dependents(): called early by a kernel whose successor may overlap it. Harmless
//                            when the successor was launched normally (it waits as usual).
//   pdl_wait():              called by a kernel launched with launch_dependent() before it reads
//                            anything an earlier kernel wrote (or writes anything): it returns
//                            once every earlier kernel has completed and its writes are visible.
//                            Reads of data no kernel of the stream writes (weights) may go first.
//
// Both are no-ops below sm_90, in a normal launch, and in the CPU emulation. The launch itself is
// in pdl_launch.cuh (kept apart: its emulated form is a <<<>>> launch that the emulation rewrites).
#pragma once

#include <cuda_runtime.h>

namespace vamba::kernels {

__device__ __forceinline__ void pdl_wait() {
#if !defined(VAMBA_KERNEL_EMULATION) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

__device__ __forceinline__ void pdl_launch_dependents() {
#if !defined(VAMBA_KERNEL_EMULATION) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::);
#endif
}

}  // namespace vamba::kernels
