// CPU-only builds: every CUDA entry point reports that the backend is absent.
#include "engine/core/device.h"

namespace vamba::cuda {
namespace {
Status no_cuda() { return failed_precondition("this build of vamba has no CUDA backend"); }
}  // namespace

bool available() { return false; }
int device_count() { return 0; }
Status set_device(int) { return no_cuda(); }
Status mem_info(int, size_t*, size_t*) { return no_cuda(); }
std::string device_name(int) { return "none"; }
StatusOr<void*> malloc_device(size_t) { return no_cuda(); }
Status free_device(void*) { return no_cuda(); }
StatusOr<void*> malloc_pinned(size_t) { return no_cuda(); }
Status free_pinned(void*) { return no_cuda(); }
Status memcpy_async(void*, const void*, size_t, StreamHandle) { return no_cuda(); }
Status memset_async(void*, int, size_t, StreamHandle) { return no_cuda(); }
StatusOr<StreamHandle> stream_create() { return no_cuda(); }
Status stream_destroy(StreamHandle) { return no_cuda(); }
Status stream_synchronize(StreamHandle) { return no_cuda(); }
Status device_synchronize() { return no_cuda(); }
StatusOr<EventHandle> event_create(bool) { return no_cuda(); }
Status event_destroy(EventHandle) { return no_cuda(); }
Status event_record(EventHandle, StreamHandle) { return no_cuda(); }
Status event_synchronize(EventHandle) { return no_cuda(); }
Status stream_wait_event(StreamHandle, EventHandle) { return no_cuda(); }
StatusOr<float> event_elapsed_ms(EventHandle, EventHandle) { return no_cuda(); }
Status check_last_launch(const char*) { return no_cuda(); }

}  // namespace vamba::cuda
