#include "engine/core/tensor.h"

#include <cstring>
#include <sstream>

namespace vamba {

std::string shape_to_string(const Shape& shape) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

StatusOr<std::shared_ptr<Storage>> Storage::allocate(Allocator* allocator, size_t bytes) {
  VAMBA_ASSIGN_OR_RETURN(void* p, allocator->allocate(bytes));
  std::shared_ptr<Storage> s(new Storage());
  s->data_ = p;
  s->bytes_ = bytes;
  s->device_ = allocator->device();
  s->allocator_ = allocator;
  return s;
}

std::shared_ptr<Storage> Storage::wrap(void* data, size_t bytes, Device device,
                                       std::shared_ptr<const void> owner) {
  std::shared_ptr<Storage> s(new Storage());
  s->data_ = data;
  s->bytes_ = bytes;
  s->device_ = device;
  s->owner_ = std::move(owner);
  return s;
}

Storage::~Storage() {
  if (allocator_) allocator_->deallocate(data_, bytes_);
}

StatusOr<Tensor> Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape) {
    if (d < 0) return invalid_argument("negative dimension in shape " + shape_to_string(shape));
  }
  VAMBA_ASSIGN_OR_RETURN(Allocator * allocator, allocator_for(device));
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
  VAMBA_ASSIGN_OR_RETURN(t.storage_, Storage::allocate(allocator, t.nbytes()));
  return t;
}

StatusOr<Tensor> Tensor::zeros(const Shape& shape, DType dtype, Device device,
                               const Stream* stream) {
  VAMBA_ASSIGN_OR_RETURN(Tensor t, empty(shape, dtype, device));
  if (device.is_cpu()) {
    std::memset(t.raw_data(), 0, t.nbytes());
  } else {
    VAMBA_RETURN_IF_ERROR(
        cuda::memset_async(t.raw_data(), 0, t.nbytes(), stream ? stream->handle() : nullptr));
    if (!stream) VAMBA_RETURN_IF_ERROR(cuda::stream_synchronize(nullptr));
  }
  return t;
}

StatusOr<Tensor> Tensor::from_floats(const Shape& shape, const std::vector<float>& values,
                                     DType dtype) {
  if (shape_numel(shape) != static_cast<int64_t>(values.size())) {
    return invalid_argument("from_floats: " + std::to_string(values.size()) +
                            " values for shape " + shape_to_string(shape));
  }
  VAMBA_ASSIGN_OR_RETURN(Tensor t, empty(shape, dtype));
  VAMBA_RETURN_IF_ERROR(
      convert_host(values.data(), DType::kF32, t.raw_data(), dtype, t.numel()));
  return t;
}

StatusOr<Tensor> Tensor::from_int64(const Shape& shape, const std::vector<int64_t>& values) {
  if (shape_numel(shape) != static_cast<int64_t>(values.size())) {
    return invalid_argument("from_int64: " + std::to_string(values.size()) + " values for shape " +
                            shape_to_string(shape));
  }
  VAMBA_ASSIGN_OR_RETURN(Tensor t, empty(shape, DType::kI64));
  std::memcpy(t.raw_data(), values.data(), t.nbytes());
  return t;
}

Tensor Tensor::wrap(void* data, const Shape& shape, DType dtype, Device device,
                    std::shared_ptr<const void> owner) {
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.storage_ = Storage::wrap(data, t.nbytes(), device, std::move(owner));
  return t;
}

StatusOr<Tensor> Tensor::reshape(const Shape& shape) const {
  Shape out = shape;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      if (infer >= 0) return invalid_argument("reshape: more than one -1 in " + shape_to_string(shape));
      infer = static_cast<int>(i);
    } else {
      known *= out[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || numel() % known != 0) {
      return invalid_argument("reshape " + describe() + " to " + shape_to_string(shape));
    }
    out[infer] = numel() / known;
  }
  if (shape_numel(out) != numel()) {
    return invalid_argument("reshape " + describe() + " to " + shape_to_string(shape));
  }
  Tensor t = *this;
  t.shape_ = out;
  return t;
}

StatusOr<Tensor> Tensor::slice_rows(int64_t begin, int64_t end) const {
  if (rank() == 0 || begin < 0 || end < begin || end > shape_[0]) {
    return out_of_range("slice_rows [" + std::to_string(begin) + ", " + std::to_string(end) +
                        ") of " + describe());
  }
  const int64_t row = shape_[0] == 0 ? 0 : numel() / shape_[0];
  Tensor t = *this;
  t.shape_[0] = end - begin;
  t.offset_bytes_ += static_cast<size_t>(begin * row) * dtype_size(dtype_);
  return t;
}

Status copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes,
                  const Stream* stream) {
  if (bytes == 0) return ok_status();
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return ok_status();
  }
  VAMBA_RETURN_IF_ERROR(cuda::memcpy_async(dst, src, bytes, stream ? stream->handle() : nullptr));
  // Without a stream the caller expects a finished copy (and may free the source next).
  if (!stream) VAMBA_RETURN_IF_ERROR(cuda::stream_synchronize(nullptr));
  return ok_status();
}

StatusOr<Tensor> Tensor::to(Device device, const Stream* stream) const {
  if (!defined()) return failed_precondition("to(): undefined tensor");
  VAMBA_ASSIGN_OR_RETURN(Tensor out, empty(shape_, dtype_, device));
  VAMBA_RETURN_IF_ERROR(out.copy_from(*this, stream));
  return out;
}

Status Tensor::copy_from(const Tensor& src, const Stream* stream) {
  if (src.shape_ != shape_ || src.dtype_ != dtype_) {
    return invalid_argument("copy_from: " + src.describe() + " into " + describe());
  }
  return copy_bytes(raw_data(), device(), src.raw_data(), src.device(), nbytes(), stream);
}

StatusOr<Tensor> Tensor::to_dtype_cpu(DType dtype) const {
  Tensor host = *this;
  if (is_cuda()) {
    VAMBA_ASSIGN_OR_RETURN(host, to(Device::cpu()));
  }
  VAMBA_ASSIGN_OR_RETURN(Tensor out, empty(shape_, dtype));
  VAMBA_RETURN_IF_ERROR(convert_host(host.raw_data(), dtype_, out.raw_data(), dtype, numel()));
  return out;
}

StatusOr<std::vector<float>> Tensor::to_float_vector() const {
  VAMBA_ASSIGN_OR_RETURN(Tensor f, to_dtype_cpu(DType::kF32));
  const float* p = f.data<float>();
  return std::vector<float>(p, p + f.numel());
}

std::string Tensor::describe() const {
  return std::string(dtype_name(dtype_)) + shape_to_string(shape_) + " on " + device().to_string();
}

}  // namespace vamba
