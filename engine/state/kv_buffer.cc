#include "engine/state/kv_buffer.h"

#include <algorithm>

#include "engine/ops/kv_quant.h"

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
  const DType st = storage_dtype();
  VAMBA_ASSIGN_OR_RETURN(Tensor k, Tensor::empty({capacity, heads_, head_dim_}, st, device_));
  VAMBA_ASSIGN_OR_RETURN(Tensor v, Tensor::empty({capacity, heads_, head_dim_}, st, device_));
  if (length_ > 0) {
    VAMBA_ASSIGN_OR_RETURN(Tensor old_k, keys_.slice_rows(0, length_));
    VAMBA_ASSIGN_OR_RETURN(Tensor old_v, values_.slice_rows(0, length_));
    VAMBA_RETURN_IF_ERROR(copy_rows(&k, 0, old_k, stream));
    VAMBA_RETURN_IF_ERROR(copy_rows(&v, 0, old_v, stream));
  }
  if (fp8()) {
    // Scales of every block; those of the blocks holding valid rows are carried over (a partly
    // filled block keeps its scale: its codes were made with it).
    const int64_t blocks = (capacity + kFp8KvBlockTokens - 1) / kFp8KvBlockTokens;
    const int64_t used = (length_ + kFp8KvBlockTokens - 1) / kFp8KvBlockTokens;
    VAMBA_ASSIGN_OR_RETURN(Tensor ks, Tensor::empty({blocks, heads_}, DType::kF32, device_));
    VAMBA_ASSIGN_OR_RETURN(Tensor vs, Tensor::empty({blocks, heads_}, DType::kF32, device_));
    if (used > 0) {
      VAMBA_ASSIGN_OR_RETURN(Tensor old_ks, k_scales_.slice_rows(0, used));
      VAMBA_ASSIGN_OR_RETURN(Tensor old_vs, v_scales_.slice_rows(0, used));
      VAMBA_RETURN_IF_ERROR(copy_rows(&ks, 0, old_ks, stream));
      VAMBA_RETURN_IF_ERROR(copy_rows(&vs, 0, old_vs, stream));
    }
    k_scales_ = std::move(ks);
    v_scales_ = std::move(vs);
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
  if (fp8()) {
    VAMBA_RETURN_IF_ERROR(
        ops::kv_fp8_append(k, length_, kFp8KvBlockTokens, &keys_, &k_scales_, stream));
    VAMBA_RETURN_IF_ERROR(
        ops::kv_fp8_append(v, length_, kFp8KvBlockTokens, &values_, &v_scales_, stream));
  } else {
    VAMBA_RETURN_IF_ERROR(copy_rows(&keys_, length_, k, stream));
    VAMBA_RETURN_IF_ERROR(copy_rows(&values_, length_, v, stream));
  }
  length_ = need;
  return ok_status();
}

Status KvBuffer::extend(int64_t n, const Stream& stream) {
  if (n < 0) return invalid_argument("KvBuffer::extend: negative row count");
  if (fp8()) return failed_precondition("KvBuffer::extend: not for an fp8 store");
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
  if (fp8()) {
    // Blocks of 64 rows share a scale, so the kept rows are requantized from row 0: read back,
    // then appended again (one more rounding of values already on the fp8 grid of a scale at
    // least as large, so the error stays within one more half step).
    Tensor k, v;
    VAMBA_RETURN_IF_ERROR(read(&k, &v, stream));
    VAMBA_ASSIGN_OR_RETURN(Tensor kept_k, k.slice_rows(n, length_));
    VAMBA_ASSIGN_OR_RETURN(Tensor kept_v, v.slice_rows(n, length_));
    length_ = 0;
    VAMBA_RETURN_IF_ERROR(append(kept_k, kept_v, stream));
    return stream.synchronize();  // k and v are temporaries read by the queued kernels
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

Status KvBuffer::read(Tensor* k, Tensor* v, const Stream& stream) const {
  if (k == nullptr || v == nullptr) return invalid_argument("KvBuffer::read: null output");
  if (!fp8()) {
    VAMBA_ASSIGN_OR_RETURN(*k, keys());
    VAMBA_ASSIGN_OR_RETURN(*v, values());
    return ok_status();
  }
  *k = Tensor();
  *v = Tensor();
  if (!keys_.defined()) {
    VAMBA_ASSIGN_OR_RETURN(*k, Tensor::empty({0, heads_, head_dim_}, dtype_, device_));
    VAMBA_ASSIGN_OR_RETURN(*v, Tensor::empty({0, heads_, head_dim_}, dtype_, device_));
    return ok_status();
  }
  VAMBA_RETURN_IF_ERROR(
      ops::kv_fp8_dequantize(keys_, k_scales_, length_, kFp8KvBlockTokens, k, stream));
  return ops::kv_fp8_dequantize(values_, v_scales_, length_, kFp8KvBlockTokens, v, stream);
}

StatusOr<Tensor> KvBuffer::keys() const {
  if (fp8()) return failed_precondition("KvBuffer::keys: an fp8 store is read with read()");
  if (!keys_.defined()) return Tensor::empty({0, heads_, head_dim_}, dtype_, device_);
  return keys_.slice_rows(0, length_);
}

StatusOr<Tensor> KvBuffer::values() const {
  if (fp8()) return failed_precondition("KvBuffer::values: an fp8 store is read with read()");
  if (!values_.defined()) return Tensor::empty({0, heads_, head_dim_}, dtype_, device_);
  return values_.slice_rows(0, length_);
}

}  // namespace vamba
