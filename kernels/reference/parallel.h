// A small, persistent thread pool for the CPU reference kernels. The reference is also the CPU
// backend that CI runs, so its hot loops (GEMM rows, attention heads, SSD heads) are split over
// threads. Threads are created once: decode calls these loops hundreds of times per token.
#pragma once

#include <cstdint>
#include <functional>

namespace vamba::kernels::reference {

// Number of worker threads used by parallel_for: $VAMBA_NUM_THREADS if set, else the hardware
// concurrency (at least 1).
int num_threads();

// Calls fn(begin_i, end_i) on disjoint sub-ranges covering [begin, end), each at least `grain` long
// (except possibly the last), possibly concurrently. Runs inline when the range is small, when only
// one thread is configured, or when called from inside another parallel_for (no nesting).
void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn);

}  // namespace vamba::kernels::reference
