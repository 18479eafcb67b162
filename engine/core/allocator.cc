#include "engine/core/allocator.h"

#include <cstdlib>
#include <memory>

namespace vamba {
namespace {

class CpuAllocator : public Allocator {
 public:
  Device device() const override { return Device::cpu(); }
  StatusOr<void*> allocate(size_t bytes) override {
    const size_t rounded = ((bytes == 0 ? 1 : bytes) + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded);
    if (!p) return resource_exhausted("host allocation of " + std::to_string(bytes) + " bytes failed");
    std::lock_guard<std::mutex> lock(mu_);
    stats_.in_use_bytes += rounded;
    stats_.reserved_bytes += rounded;
    stats_.driver_allocs++;
    if (stats_.in_use_bytes > stats_.peak_in_use_bytes) stats_.peak_in_use_bytes = stats_.in_use_bytes;
    return p;
  }
  void deallocate(void* ptr, size_t bytes) override {
    std::free(ptr);
    const size_t rounded = ((bytes == 0 ? 1 : bytes) + 63) / 64 * 64;
    std::lock_guard<std::mutex> lock(mu_);
    stats_.in_use_bytes -= rounded;
    stats_.reserved_bytes -= rounded;
  }
  AllocatorStats stats() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

 private:
  mutable std::mutex mu_;
  AllocatorStats stats_;
};

}  // namespace

Allocator& cpu_allocator() {
  static CpuAllocator* allocator = new CpuAllocator();  // never destroyed: tensors may outlive statics
  return *allocator;
}

CachingAllocator::CachingAllocator(Device device, RawAlloc raw_alloc, RawFree raw_free)
    : device_(device), raw_alloc_(raw_alloc), raw_free_(raw_free) {}

CachingAllocator::~CachingAllocator() { release_cached(); }

size_t CachingAllocator::size_class(size_t bytes) {
  constexpr size_t kSmall = 512;
  constexpr size_t kLarge = size_t{2} << 20;
  if (bytes == 0) bytes = 1;
  if (bytes < (size_t{1} << 20)) return (bytes + kSmall - 1) / kSmall * kSmall;
  return (bytes + kLarge - 1) / kLarge * kLarge;
}

StatusOr<void*> CachingAllocator::allocate(size_t bytes) {
  const size_t cls = size_class(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  // Exact class first; a large request may take a cached block up to 1/8 bigger rather than allocate.
  auto it = free_blocks_.lower_bound(cls);
  if (it != free_blocks_.end() && it->first <= cls + cls / 8) {
    void* p = it->second;
    const size_t got = it->first;
    free_blocks_.erase(it);
    live_blocks_[p] = got;
    stats_.in_use_bytes += got;
    stats_.cache_hits++;
    if (stats_.in_use_bytes > stats_.peak_in_use_bytes) stats_.peak_in_use_bytes = stats_.in_use_bytes;
    return p;
  }
  auto raw = raw_alloc_(cls);
  if (!raw.ok() && !free_blocks_.empty()) {
    // Out of memory with blocks cached: give them back and try once more.
    for (auto& [size, p] : free_blocks_) {
      (void)raw_free_(p);
      stats_.reserved_bytes -= size;
    }
    free_blocks_.clear();
    raw = raw_alloc_(cls);
  }
  if (!raw.ok()) {
    return Status(StatusCode::kResourceExhausted,
                  "out of memory on " + device_.to_string() + " allocating " +
                      std::to_string(bytes) + " bytes (" + std::to_string(stats_.in_use_bytes) +
                      " in use): " + raw.status().message());
  }
  void* p = *raw;
  live_blocks_[p] = cls;
  stats_.driver_allocs++;
  stats_.reserved_bytes += cls;
  stats_.in_use_bytes += cls;
  if (stats_.in_use_bytes > stats_.peak_in_use_bytes) stats_.peak_in_use_bytes = stats_.in_use_bytes;
  return p;
}

void CachingAllocator::deallocate(void* ptr, size_t /*bytes*/) {
  if (!ptr) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_blocks_.find(ptr);
  if (it == live_blocks_.end()) return;  // not ours: an invariant breach, but never crash a server
  stats_.in_use_bytes -= it->second;
  free_blocks_.emplace(it->second, ptr);
  live_blocks_.erase(it);
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void CachingAllocator::release_cached() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [size, p] : free_blocks_) {
    (void)raw_free_(p);
    stats_.reserved_bytes -= size;
  }
  free_blocks_.clear();
}

StatusOr<Allocator*> pinned_allocator() {
  if (!cuda::available()) return failed_precondition("pinned memory needs a CUDA device");
  static CachingAllocator* allocator =
      new CachingAllocator(Device::cpu(), &cuda::malloc_pinned, &cuda::free_pinned);
  return static_cast<Allocator*>(allocator);
}

StatusOr<Allocator*> cuda_allocator(int index) {
  constexpr int kMaxDevices = 64;
  static std::mutex mu;
  static CachingAllocator* allocators[kMaxDevices] = {};
  if (index < 0 || index >= kMaxDevices || index >= cuda::device_count()) {
    return invalid_argument("no CUDA device " + std::to_string(index) + " (found " +
                            std::to_string(cuda::device_count()) + ")");
  }
  std::lock_guard<std::mutex> lock(mu);
  if (!allocators[index]) {
    allocators[index] =
        new CachingAllocator(Device::cuda(index), &cuda::malloc_device, &cuda::free_device);
  }
  return static_cast<Allocator*>(allocators[index]);
}

StatusOr<Allocator*> allocator_for(Device device) {
  if (device.is_cpu()) return &cpu_allocator();
  return cuda_allocator(device.index);
}

}  // namespace vamba
