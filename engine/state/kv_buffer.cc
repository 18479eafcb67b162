#include "engine/state/kv_buffer.h"

#include <algorithm>

namespace vamba {
namespace {

// dst rows [at, at + src rows) = src.
Status copy_rows(Tensor* dst, int64_t at, const Tensor& src, const Stream& stream) {
  if (src.dim(0) == 0) return ok_status();
  VAMBA_ASSIGN_OR_RETURN(Tensor view, dst->slice_rows(at, at + src.dim(0)));
  return view.copy_from(src, &stream);
}

}  // namespace

Status KvBuffer::reserve(int64_t capacity, const Stream& stream) {
  if (capacity <= this->capacity()) return ok_status();
  VAMBA_ASSIGN_OR_RETURN(Tensor k, Tensor::empty({capacity, heads_, head_dim_}, dtype_, device_));
  VAMBA_ASSIGN_OR_RETURN(Tensor v, Tensor::empty({capacity, heads_, head_dim_}, dtype_, device_));
  if (length_ > 0) {
    VAMBA_ASSIGN_OR_RETURN(Tensor old_k, keys());
    VAMBA_ASSIGN_OR_RETURN(Tensor old_v, values());
    VAMBA_RETURN_IF_ERROR(copy_rows(&k, 0, old_k, stream));
    VAMBA_RETURN_IF_ERROR(copy_rows(&v, 0, old_v, stream));
  }
  // The old storage returns to the stream-ordered allocator after the copies are queued.
  keys_ = std::move(k);
  values_ = std::move(v);
  return ok_status();
}

Status KvBuffer::append(const Tensor& k, const Tensor& v, const Stream& stream) {
  const Shape want = {k.dim(0), heads_, head_dim_};
  if (k.shape() != want || v.shape() != want || k.dtype() != dtype_ || v.dtype() != dtype_ ||
      !(k.device() == device_) || !(v.device() == device_)) {
    return invalid_argument("KvBuffer::append: k and v must be " + std::string(dtype_name(dtype_)) +
                            shape_to_string(want) + " on " + device_.to_string() + ", got " +
                            k.describe() + " and " + v.describe());
  }
  const int64_t need = length_ + k.dim(0);
  if (need > capacity()) {
    VAMBA_RETURN_IF_ERROR(reserve(std::max(need, 2 * capacity()), stream));
  }
  VAMBA_RETURN_IF_ERROR(copy_rows(&keys_, length_, k, stream));
  VAMBA_RETURN_IF_ERROR(copy_rows(&values_, length_, v, stream));
  length_ = need;
  return ok_status();
}

Status KvBuffer::extend(int64_t n, const Stream& stream) {
  if (n < 0) return invalid_argument("KvBuffer::extend: negative row count");
  const int64_t need = length_ + n;
  if (need > capacity()) {
    VAMBA_RETURN_IF_ERROR(reserve(std::max(need, 2 * capacity()), stream));
  }
  length_ = need;
  return ok_status();
}

Status KvBuffer::truncate(int64_t length) {
  if (length < 0 || length > length_) {
    return out_of_range("KvBuffer::truncate to " + std::to_string(length) + " of " +
                        std::to_string(length_) + " rows");
  }
  length_ = length;
  return ok_status();
}

Status KvBuffer::drop_front(int64_t n, const Stream& stream) {
  if (n < 0 || n > length_) {
    return out_of_range("KvBuffer::drop_front of " + std::to_string(n) + " of " +
                        std::to_string(length_) + " rows");
  }
  const int64_t keep = length_ - n;
  if (n == 0 || keep == 0) {
    length_ = keep;
    return ok_status();
  }
  if (keep <= 8 * n) {
    // In place, front to back, in chunks of at most n rows: a chunk's source and destination never
    // overlap, and a chunk only overwrites rows an earlier (stream-ordered) copy already moved.
    for (Tensor* t : {&keys_, &values_}) {
      for (int64_t b = 0; b < keep; b += n) {
        const int64_t e = std::min(keep, b + n);
        VAMBA_ASSIGN_OR_RETURN(Tensor src, t->slice_rows(n + b, n + e));
        VAMBA_RETURN_IF_ERROR(copy_rows(t, b, src, stream));
      }
    }
  } else {
    // Few rows dropped from many: one copy into fresh storage of the same capacity beats many small
    // chunks (the old storage returns to the stream-ordered allocator after the copy is queued).
    const int64_t cap = capacity();
    VAMBA_ASSIGN_OR_RETURN(Tensor k, Tensor::empty({cap, heads_, head_dim_}, dtype_, device_));
    VAMBA_ASSIGN_OR_RETURN(Tensor v, Tensor::empty({cap, heads_, head_dim_}, dtype_, device_));
    VAMBA_ASSIGN_OR_RETURN(Tensor old_k, keys_.slice_rows(n, length_));
    VAMBA_ASSIGN_OR_RETURN(Tensor old_v, values_.slice_rows(n, length_));
    VAMBA_RETURN_IF_ERROR(copy_rows(&k, 0, old_k, stream));
    VAMBA_RETURN_IF_ERROR(copy_rows(&v, 0, old_v, stream));
    keys_ = std::move(k);
    values_ = std::move(v);
  }
  length_ = keep;
  return ok_status();
}

StatusOr<Tensor> KvBuffer::keys() const {
  if (!keys_.defined()) return Tensor::empty({0, heads_, head_dim_}, dtype_, device_);
  return keys_.slice_rows(0, length_);
}

StatusOr<Tensor> KvBuffer::values() const {
  if (!values_.defined()) return Tensor::empty({0, heads_, head_dim_}, dtype_, device_);
  return values_.slice_rows(0, length_);
}

}  // namespace vamba
