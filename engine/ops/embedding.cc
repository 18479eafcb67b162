#include "engine/ops/embedding.h"

#include "engine/ops/cuda_backend.h"
#include "kernels/reference/embedding.h"

namespace vamba::ops {

Status embedding(const Tensor& table, const Tensor& ids, Tensor* out, const Stream& stream) {
  constexpr const char* op = "embedding";
  const Device dev = table.device();
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "table", table, 2, activation_dtype(dev), dev));
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "ids", ids, 1, DType::kI64, dev));
  const int64_t vocab = table.dim(0), dim = table.dim(1), n = ids.dim(0);
  VAMBA_RETURN_IF_ERROR(detail::prepare_output(op, "out", out, {n, dim}, table.dtype(), dev));
  if (dev.is_cuda()) return cuda_backend::embedding(table, ids, out, stream);
  const int64_t* id = ids.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    if (id[i] < 0 || id[i] >= vocab) {
      return invalid_argument("embedding: token id " + std::to_string(id[i]) + " at position " +
                              std::to_string(i) + " is outside the vocabulary [0, " +
                              std::to_string(vocab) + ")");
    }
  }
  kernels::reference::embedding(table.data<float>(), vocab, dim, id, n, out->data<float>());
  return ok_status();
}

}  // namespace vamba::ops
