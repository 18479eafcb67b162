// Where a tensor's bytes live, and the CUDA runtime calls the engine needs, behind plain functions so
// that no header outside *_cuda.cc includes cuda_runtime.h. A CPU-only build links the *_nocuda.cc
// twins, which answer FAILED_PRECONDITION ("built without CUDA") instead of crashing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/core/status.h"

namespace vamba {

enum class DeviceType : uint8_t { kCpu, kCuda };

struct Device {
  DeviceType type = DeviceType::kCpu;
  int index = 0;

  static Device cpu() { return {DeviceType::kCpu, 0}; }
  static Device cuda(int index = 0) { return {DeviceType::kCuda, index}; }
  bool is_cpu() const { return type == DeviceType::kCpu; }
  bool is_cuda() const { return type == DeviceType::kCuda; }
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  std::string to_string() const;  // "cpu", "cuda:0"
};

// Parses "cpu", "cuda", "cuda:1".
StatusOr<Device> parse_device(const std::string& text);

// An opaque CUDA stream (cudaStream_t); nullptr is the legacy default stream.
using StreamHandle = void*;

namespace cuda {

// True when this build has the CUDA backend and a usable GPU is present.
bool available();
int device_count();
Status set_device(int index);
// Free and total device memory in bytes.
Status mem_info(int index, size_t* free_bytes, size_t* total_bytes);
std::string device_name(int index);

// Raw allocations; the caching allocator is built on these. Never on a hot path.
StatusOr<void*> malloc_device(size_t bytes);
Status free_device(void* ptr);
StatusOr<void*> malloc_pinned(size_t bytes);
Status free_pinned(void* ptr);

// Copies n bytes between any two of host and device memory, ordered on `stream`.
Status memcpy_async(void* dst, const void* src, size_t n, StreamHandle stream);
Status memset_async(void* dst, int value, size_t n, StreamHandle stream);

StatusOr<StreamHandle> stream_create();
Status stream_destroy(StreamHandle stream);
Status stream_synchronize(StreamHandle stream);
Status device_synchronize();

using EventHandle = void*;
StatusOr<EventHandle> event_create(bool timing);
Status event_destroy(EventHandle event);
Status event_record(EventHandle event, StreamHandle stream);
Status event_synchronize(EventHandle event);
Status stream_wait_event(StreamHandle stream, EventHandle event);
StatusOr<float> event_elapsed_ms(EventHandle start, EventHandle end);

// The last launch error (cudaGetLastError), as a Status naming `what`.
Status check_last_launch(const char* what);

}  // namespace cuda
}  // namespace vamba
