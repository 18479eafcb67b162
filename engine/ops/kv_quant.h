// fp8 e4m3 keys/values (engine/state/kv_store.h): appending rows to an fp8 store and reading them
// back in the activation dtype. CPU: kernels/reference/kv_fp8.h; CUDA: kernels/quant/kv_fp8.h.
#pragma once

#include "engine/core/stream.h"
#include "engine/core/tensor.h"

namespace vamba::ops {

// src (n, heads, head_dim) in the activation dtype; data (capacity, heads, head_dim) u8 and
// scales (ceil(capacity / block), heads) f32 on src's device. Writes rows [start, start + n),
// requantizing every block they touch.
Status kv_fp8_append(const Tensor& src, int64_t start, int64_t block, Tensor* data, Tensor* scales,
                     const Stream& stream);

// out (rows, heads, head_dim) in the activation dtype (allocated when undefined) = the first `rows`
// rows of data × their block scales.
Status kv_fp8_dequantize(const Tensor& data, const Tensor& scales, int64_t rows, int64_t block,
                         Tensor* out, const Stream& stream);

}  // namespace vamba::ops
