#include "engine/core/stream.h"

#include <utility>

namespace vamba {

StatusOr<Stream> Stream::create(Device device) {
  Stream s;
  s.device_ = device;
  if (device.is_cuda()) {
    VAMBA_RETURN_IF_ERROR(cuda::set_device(device.index));
    VAMBA_ASSIGN_OR_RETURN(s.handle_, cuda::stream_create());
  }
  return s;
}

Stream::~Stream() {
  if (handle_) (void)cuda::stream_destroy(handle_);
}

Stream::Stream(Stream&& o) noexcept
    : device_(o.device_), handle_(std::exchange(o.handle_, nullptr)) {}

Stream& Stream::operator=(Stream&& o) noexcept {
  if (this != &o) {
    if (handle_) (void)cuda::stream_destroy(handle_);
    device_ = o.device_;
    handle_ = std::exchange(o.handle_, nullptr);
  }
  return *this;
}

Status Stream::synchronize() const {
  if (device_.is_cpu()) return ok_status();
  return cuda::stream_synchronize(handle_);
}

StatusOr<Event> Event::create(bool timing) {
  Event e;
  VAMBA_ASSIGN_OR_RETURN(e.handle_, cuda::event_create(timing));
  return e;
}

Event::~Event() {
  if (handle_) (void)cuda::event_destroy(handle_);
}

Event::Event(Event&& o) noexcept : handle_(std::exchange(o.handle_, nullptr)) {}

Event& Event::operator=(Event&& o) noexcept {
  if (this != &o) {
    if (handle_) (void)cuda::event_destroy(handle_);
    handle_ = std::exchange(o.handle_, nullptr);
  }
  return *this;
}

Status Event::record(const Stream& stream) { return cuda::event_record(handle_, stream.handle()); }
Status Event::synchronize() const { return cuda::event_synchronize(handle_); }
Status Event::wait_on(const Stream& stream) const {
  return cuda::stream_wait_event(stream.handle(), handle_);
}
StatusOr<float> Event::elapsed_ms(const Event& start, const Event& end) {
  return cuda::event_elapsed_ms(start.handle_, end.handle_);
}

}  // namespace vamba
