// The CUDA runtime behind device.h. Every call is checked and becomes a Status naming the call.
#include <cuda_runtime.h>

#include "engine/core/device.h"

namespace vamba::cuda {
namespace {

Status from_cuda(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return ok_status();
  const StatusCode code = (err == cudaErrorMemoryAllocation) ? StatusCode::kResourceExhausted
                                                             : StatusCode::kInternal;
  return Status(code, std::string(what) + ": " + cudaGetErrorName(err) + " (" +
                          cudaGetErrorString(err) + ")");
}

cudaStream_t as_stream(StreamHandle s) { return static_cast<cudaStream_t>(s); }
cudaEvent_t as_event(EventHandle e) { return static_cast<cudaEvent_t>(e); }

}  // namespace

bool available() { return device_count() > 0; }

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();  // a machine without a driver: clear the sticky error, report none
    return 0;
  }
  return n;
}

Status set_device(int index) { return from_cuda(cudaSetDevice(index), "cudaSetDevice"); }

Status mem_info(int index, size_t* free_bytes, size_t* total_bytes) {
  VAMBA_RETURN_IF_ERROR(set_device(index));
  return from_cuda(cudaMemGetInfo(free_bytes, total_bytes), "cudaMemGetInfo");
}

std::string device_name(int index) {
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, index) != cudaSuccess) return "unknown";
  return prop.name;
}

StatusOr<void*> malloc_device(size_t bytes) {
  void* p = nullptr;
  VAMBA_RETURN_IF_ERROR(from_cuda(cudaMalloc(&p, bytes),
                                  ("cudaMalloc of " + std::to_string(bytes) + " bytes").c_str()));
  return p;
}

Status free_device(void* ptr) { return from_cuda(cudaFree(ptr), "cudaFree"); }

StatusOr<void*> malloc_pinned(size_t bytes) {
  void* p = nullptr;
  VAMBA_RETURN_IF_ERROR(from_cuda(cudaMallocHost(&p, bytes), "cudaMallocHost"));
  return p;
}

Status free_pinned(void* ptr) { return from_cuda(cudaFreeHost(ptr), "cudaFreeHost"); }

Status memcpy_async(void* dst, const void* src, size_t n, StreamHandle stream) {
  if (n == 0) return ok_status();
  return from_cuda(cudaMemcpyAsync(dst, src, n, cudaMemcpyDefault, as_stream(stream)),
                   "cudaMemcpyAsync");
}

Status memset_async(void* dst, int value, size_t n, StreamHandle stream) {
  if (n == 0) return ok_status();
  return from_cuda(cudaMemsetAsync(dst, value, n, as_stream(stream)), "cudaMemsetAsync");
}

StatusOr<StreamHandle> stream_create() {
  cudaStream_t s = nullptr;
  VAMBA_RETURN_IF_ERROR(
      from_cuda(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate"));
  return static_cast<StreamHandle>(s);
}

Status stream_destroy(StreamHandle stream) {
  return from_cuda(cudaStreamDestroy(as_stream(stream)), "cudaStreamDestroy");
}

Status stream_synchronize(StreamHandle stream) {
  return from_cuda(cudaStreamSynchronize(as_stream(stream)), "cudaStreamSynchronize");
}

Status device_synchronize() { return from_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize"); }

StatusOr<EventHandle> event_create(bool timing) {
  cudaEvent_t e = nullptr;
  VAMBA_RETURN_IF_ERROR(from_cuda(
      cudaEventCreateWithFlags(&e, timing ? cudaEventDefault : cudaEventDisableTiming),
      "cudaEventCreate"));
  return static_cast<EventHandle>(e);
}

Status event_destroy(EventHandle event) {
  return from_cuda(cudaEventDestroy(as_event(event)), "cudaEventDestroy");
}

Status event_record(EventHandle event, StreamHandle stream) {
  return from_cuda(cudaEventRecord(as_event(event), as_stream(stream)), "cudaEventRecord");
}

Status event_synchronize(EventHandle event) {
  return from_cuda(cudaEventSynchronize(as_event(event)), "cudaEventSynchronize");
}

Status stream_wait_event(StreamHandle stream, EventHandle event) {
  return from_cuda(cudaStreamWaitEvent(as_stream(stream), as_event(event), 0),
                   "cudaStreamWaitEvent");
}

StatusOr<float> event_elapsed_ms(EventHandle start, EventHandle end) {
  float ms = 0;
  VAMBA_RETURN_IF_ERROR(
      from_cuda(cudaEventElapsedTime(&ms, as_event(start), as_event(end)), "cudaEventElapsedTime"));
  return ms;
}

Status check_last_launch(const char* what) { return from_cuda(cudaGetLastError(), what); }

}  // namespace vamba::cuda
