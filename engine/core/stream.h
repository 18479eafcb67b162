// RAII owners of a CUDA stream and event. All GPU work in the engine is ordered on an explicit
// Stream; a CPU Stream is empty and its operations are no-ops, so the same code runs on both backends.
#pragma once

#include "engine/core/device.h"

namespace vamba {

class Stream {
 public:
  Stream() = default;  // CPU / no stream
  static StatusOr<Stream> create(Device device);
  ~Stream();
  Stream(Stream&& o) noexcept;
  Stream& operator=(Stream&& o) noexcept;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  Device device() const { return device_; }
  StreamHandle handle() const { return handle_; }
  Status synchronize() const;

 private:
  Device device_ = Device::cpu();
  StreamHandle handle_ = nullptr;
};

class Event {
 public:
  Event() = default;
  static StatusOr<Event> create(bool timing = false);
  ~Event();
  Event(Event&& o) noexcept;
  Event& operator=(Event&& o) noexcept;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  Status record(const Stream& stream);
  Status synchronize() const;
  // Makes `stream` wait for this event without blocking the host.
  Status wait_on(const Stream& stream) const;
  // Milliseconds between two recorded timing events.
  static StatusOr<float> elapsed_ms(const Event& start, const Event& end);

 private:
  cuda::EventHandle handle_ = nullptr;
};

}  // namespace vamba
