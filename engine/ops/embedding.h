// Tensor-level token embedding gather.
#pragma once

#include "engine/ops/common.h"

namespace vamba::ops {

// table: (vocab, dim) weight dtype; ids: (n) i64 on the table's device; out: (n, dim) activation
// dtype. An id outside [0, vocab) is INVALID_ARGUMENT on the CPU; the CUDA backend cannot check
// without a sync, so callers validate ids on the host first (the model does) and the kernel writes
// a zero row for a bad id rather than reading out of bounds.
Status embedding(const Tensor& table, const Tensor& ids, Tensor* out, const Stream& stream);

}  // namespace vamba::ops
