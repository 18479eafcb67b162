// Allocators behind tensor storage. The CUDA one caches freed blocks by size class so that steady-state
// inference never calls cudaMalloc: blocks go back to a free list and are reused by the next request of
// the same class. Reuse is ordered by the stream the work runs on (one compute stream per worker), as in
// CTranslate2's and PyTorch's caching allocators; code that frees memory used on another stream must
// synchronise that stream first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

#include "engine/core/device.h"

namespace vamba {

struct AllocatorStats {
  size_t in_use_bytes = 0;     // handed out and not yet freed
  size_t reserved_bytes = 0;   // obtained from the driver (in use + cached)
  size_t peak_in_use_bytes = 0;
  uint64_t driver_allocs = 0;  // calls that reached cudaMalloc / malloc
  uint64_t cache_hits = 0;
};

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual Device device() const = 0;
  virtual StatusOr<void*> allocate(size_t bytes) = 0;
  virtual void deallocate(void* ptr, size_t bytes) = 0;
  virtual AllocatorStats stats() const = 0;
};

// 64-byte aligned host memory (room for AVX-512 loads).
Allocator& cpu_allocator();

// Page-locked host memory for fast, asynchronous host<->device copies. Cached like device memory.
StatusOr<Allocator*> pinned_allocator();

// The caching allocator of CUDA device `index` (one per device, created on first use).
StatusOr<Allocator*> cuda_allocator(int index);

// The allocator for tensors on `device`.
StatusOr<Allocator*> allocator_for(Device device);

// Size-class cache over a raw allocate/free pair; the logic shared by device and pinned memory and
// tested on the CPU with a counting backend.
class CachingAllocator : public Allocator {
 public:
  using RawAlloc = StatusOr<void*> (*)(size_t);
  using RawFree = Status (*)(void*);

  CachingAllocator(Device device, RawAlloc raw_alloc, RawFree raw_free);
  ~CachingAllocator() override;

  Device device() const override { return device_; }
  StatusOr<void*> allocate(size_t bytes) override;
  void deallocate(void* ptr, size_t bytes) override;
  AllocatorStats stats() const override;

  // Returns every cached (free) block to the driver. In-use blocks are untouched.
  void release_cached();

  // Requests round up to this size class: 512 B granules below 1 MiB, 2 MiB granules above, so
  // similar requests share blocks without wasting more than a small fraction.
  static size_t size_class(size_t bytes);

 private:
  Device device_;
  RawAlloc raw_alloc_;
  RawFree raw_free_;
  mutable std::mutex mu_;
  std::multimap<size_t, void*> free_blocks_;  // size class -> cached block
  std::map<void*, size_t> live_blocks_;       // block -> size class
  AllocatorStats stats_;
};

}  // namespace vamba
