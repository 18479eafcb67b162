// One layer's keys and values, (capacity, heads, head_dim) each, of which the first length() rows
// are valid. Appending past the capacity reallocates (doubling) and copies, so callers that know
// the final length (the video's token count, a generation budget) reserve() it up front.
// Used for the text KV cache and for the per-layer video cross-attention K/V.
//
// The video's K/V may be stored in fp8 e4m3 (KvStore::kFp8E4M3, layout in kv_store.h): append()
// still takes rows in the activation dtype and quantizes them, read() hands back the valid rows
// dequantized, and the storage is half of bf16's.
#pragma once

#include "engine/core/stream.h"
#include "engine/core/tensor.h"
#include "engine/state/kv_store.h"

namespace vamba {

class KvBuffer {
 public:
  KvBuffer() = default;
  // dtype: the activation dtype rows are appended and read in.
  KvBuffer(int64_t heads, int64_t head_dim, DType dtype, Device device,
           KvStore store = KvStore::kActivation)
      : heads_(heads), head_dim_(head_dim), dtype_(dtype), device_(device), store_(store) {}

  // Grows the storage to hold at least `capacity` rows (keeps the valid rows).
  Status reserve(int64_t capacity, const Stream& stream);
  // Appends k, v: (n, heads, head_dim) in this buffer's dtype and device.
  Status append(const Tensor& k, const Tensor& v, const Stream& stream);
  // Makes room for n more rows and counts them as valid without writing them: the caller's kernel
  // fills them (the fused append of batched decode attention). Not for fp8 stores.
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
  // Views of the valid rows, (length, heads, head_dim). FAILED_PRECONDITION for an fp8 store.
  StatusOr<Tensor> keys() const;
  StatusOr<Tensor> values() const;
  // The valid rows in the activation dtype, any store: views, or for fp8 dequantized copies.
  Status read(Tensor* k, Tensor* v, const Stream& stream) const;
  KvStore store() const { return store_; }
  // fp8 stores: the per-(64-token block, head) scales of keys and values (kv_store.h); undefined
  // otherwise. key_storage()/value_storage() then hold the u8 codes.
  const Tensor& key_scales() const { return k_scales_; }
  const Tensor& value_scales() const { return v_scales_; }
  // Bytes held by the storage (scales included).
  size_t bytes() const {
    return (keys_.defined() ? keys_.nbytes() + values_.nbytes() : 0) +
           (k_scales_.defined() ? k_scales_.nbytes() + v_scales_.nbytes() : 0);
  }

 private:
  int64_t heads_ = 0;
  int64_t head_dim_ = 0;
  DType dtype_ = DType::kF32;
  Device device_;
  KvStore store_ = KvStore::kActivation;
  Tensor keys_;                 // (capacity, heads, head_dim): dtype_, or u8 codes for fp8
  Tensor values_;               // (capacity, heads, head_dim)
  Tensor k_scales_, v_scales_;  // fp8: (ceil(capacity / kFp8KvBlockTokens), heads) f32
  int64_t length_ = 0;

  bool fp8() const { return store_ == KvStore::kFp8E4M3; }
  DType storage_dtype() const { return fp8() ? DType::kU8 : dtype_; }
};

}  // namespace vamba
