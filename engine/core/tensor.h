// A dense, row-major tensor: shape, dtype and device over shared storage. Views (reshape, row slices)
// share the storage; copies are explicit. Storage either comes from an Allocator or wraps memory
// owned elsewhere (an mmapped checkpoint), kept alive by a shared handle.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/allocator.h"
#include "engine/core/dtype.h"
#include "engine/core/stream.h"

namespace vamba {

using Shape = std::vector<int64_t>;

std::string shape_to_string(const Shape& shape);  // "[2, 3]"
int64_t shape_numel(const Shape& shape);

class Storage {
 public:
  // Owns `bytes` from `allocator`.
  static StatusOr<std::shared_ptr<Storage>> allocate(Allocator* allocator, size_t bytes);
  // Wraps memory owned by `owner` (which stays alive as long as the storage does).
  static std::shared_ptr<Storage> wrap(void* data, size_t bytes, Device device,
                                       std::shared_ptr<const void> owner);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  Storage() = default;
  void* data_ = nullptr;
  size_t bytes_ = 0;
  Device device_;
  Allocator* allocator_ = nullptr;
  std::shared_ptr<const void> owner_;
};

class Tensor {
 public:
  Tensor() = default;  // undefined: no storage

  static StatusOr<Tensor> empty(const Shape& shape, DType dtype, Device device = Device::cpu());
  // Zero-filled. On CUDA the memset is ordered on `stream`.
  static StatusOr<Tensor> zeros(const Shape& shape, DType dtype, Device device = Device::cpu(),
                                const Stream* stream = nullptr);
  // A CPU tensor holding a copy of `values` (converted to `dtype`).
  static StatusOr<Tensor> from_floats(const Shape& shape, const std::vector<float>& values,
                                      DType dtype = DType::kF32);
  static StatusOr<Tensor> from_int64(const Shape& shape, const std::vector<int64_t>& values);
  // A tensor over memory owned by `owner`; no copy.
  static Tensor wrap(void* data, const Shape& shape, DType dtype, Device device,
                     std::shared_ptr<const void> owner);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_[i < 0 ? shape_.size() + i : i]; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device() : Device::cpu(); }
  bool is_cuda() const { return device().is_cuda(); }

  void* raw_data() const {
    return storage_ ? static_cast<char*>(storage_->data()) + offset_bytes_ : nullptr;
  }
  // Typed pointer; the element type must match the dtype (checked in debug builds).
  template <typename T>
  T* data() const {
    assert(DTypeOf<T>::value == dtype_);
    return static_cast<T*>(raw_data());
  }

  // Same storage, new shape with the same element count (one dimension may be -1).
  StatusOr<Tensor> reshape(const Shape& shape) const;
  // Rows [begin, end) of dimension 0, sharing storage.
  StatusOr<Tensor> slice_rows(int64_t begin, int64_t end) const;

  // A copy on `device`, ordered on `stream` (null: the default stream, synchronised before return).
  StatusOr<Tensor> to(Device device, const Stream* stream = nullptr) const;
  // Copies `src` (same shape and dtype, any device) into this tensor.
  Status copy_from(const Tensor& src, const Stream* stream = nullptr);
  // A CPU copy converted to `dtype` (floats round to nearest even for bf16/f16).
  StatusOr<Tensor> to_dtype_cpu(DType dtype) const;
  // Host copy of the values as float (any floating dtype, any device; synchronous).
  StatusOr<std::vector<float>> to_float_vector() const;

  std::string describe() const;  // "bf16[2, 3] on cuda:0"

 private:
  std::shared_ptr<Storage> storage_;
  size_t offset_bytes_ = 0;
  Shape shape_;
  DType dtype_ = DType::kF32;
};

// Copies `bytes` between two pointers on any devices (host/host via memcpy).
Status copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes,
                  const Stream* stream);

}  // namespace vamba
