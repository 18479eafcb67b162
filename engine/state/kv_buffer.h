// One layer's keys and values, (capacity, heads, head_dim) each, of which the first length() rows
// are valid. Appending past the capacity reallocates (doubling) and copies, so callers that know
// the final length (the video's token count, a generation budget) reserve() it up front.
// Used for the text KV cache and for the per-layer video cross-attention K/V.
#pragma once

#include "engine/core/stream.h"
#include "engine/core/tensor.h"

namespace vamba {

class KvBuffer {
 public:
  KvBuffer() = default;
  KvBuffer(int64_t heads, int64_t head_dim, DType dtype, Device device)
      : heads_(heads), head_dim_(head_dim), dtype_(dtype), device_(device) {}

  // Grows the storage to hold at least `capacity` rows (keeps the valid rows).
  Status reserve(int64_t capacity, const Stream& stream);
  // Appends k, v: (n, heads, head_dim) in this buffer's dtype and device.
  Status append(const Tensor& k, const Tensor& v, const Stream& stream);
  // Makes room for n more rows and counts them as valid without writing them: the caller's kernel
  // fills them (the fused append of batched decode attention).
  Status extend(int64_t n, const Stream& stream);
  // Forgets rows past `length` (keeps the storage).
  Status truncate(int64_t length);
  // Forgets the first n rows: rows [n, length) become rows [0, length − n). One pass over the kept
  // rows; the capacity is unchanged, so a buffer that drops as much as it appends never grows.
  Status drop_front(int64_t n, const Stream& stream);

  int64_t length() const { return length_; }
  int64_t capacity() const { return keys_.defined() ? keys_.dim(0) : 0; }
  int64_t heads() const { return heads_; }
  int64_t head_dim() const { return head_dim_; }
  // The whole storage, (capacity, heads, head_dim); rows ≥ length() are unspecified.
  const Tensor& key_storage() const { return keys_; }
  const Tensor& value_storage() const { return values_; }
  // Views of the valid rows, (length, heads, head_dim).
  StatusOr<Tensor> keys() const;
  StatusOr<Tensor> values() const;
  // Bytes held by the storage.
  size_t bytes() const { return keys_.defined() ? keys_.nbytes() + values_.nbytes() : 0; }

 private:
  int64_t heads_ = 0;
  int64_t head_dim_ = 0;
  DType dtype_ = DType::kF32;
  Device device_;
  Tensor keys_;    // (capacity, heads, head_dim)
  Tensor values_;  // (capacity, heads, head_dim)
  int64_t length_ = 0;
};

}  // namespace vamba
