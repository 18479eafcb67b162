#include "engine/ops/sampling.h"

#include "engine/ops/cuda_backend.h"

namespace vamba::ops {
namespace {

// logits as a (V) row: (V) or (1, V), f32 on the CPU; f32 or bf16 on CUDA.
Status check_logits(const char* op, const Tensor& logits) {
  const bool floating =
      logits.dtype() == DType::kF32 || (logits.is_cuda() && logits.dtype() == DType::kBF16);
  if (!logits.defined() || !floating || logits.numel() == 0 ||
      !(logits.rank() == 1 || (logits.rank() == 2 && logits.dim(0) == 1))) {
    return detail::bad(op, "logits", "a non-empty (V) or (1, V) row of floats", logits);
  }
  return ok_status();
}

}  // namespace

StatusOr<int64_t> argmax(const Tensor& logits, const Stream& stream) {
  VAMBA_RETURN_IF_ERROR(check_logits("argmax", logits));
  if (logits.is_cuda()) return cuda_backend::argmax(logits, stream);
  return kernels::reference::argmax(logits.data<float>(), logits.numel());
}

StatusOr<std::vector<int64_t>> argmax_rows(const Tensor& logits, const Stream& stream) {
  const bool floating =
      logits.dtype() == DType::kF32 || (logits.is_cuda() && logits.dtype() == DType::kBF16);
  if (!logits.defined() || !floating || logits.rank() != 2 || logits.dim(0) < 1 ||
      logits.dim(1) < 1) {
    return detail::bad("argmax_rows", "logits", "non-empty (B, V) floats", logits);
  }
  if (logits.is_cuda()) return cuda_backend::argmax_rows(logits, stream);
  std::vector<int64_t> ids(static_cast<size_t>(logits.dim(0)));
  for (int64_t r = 0; r < logits.dim(0); ++r) {
    ids[r] = kernels::reference::argmax(logits.data<float>() + r * logits.dim(1), logits.dim(1));
  }
  return ids;
}

Status top_k(const Tensor& logits, int64_t k, std::vector<float>* values, std::vector<int64_t>* ids,
             const Stream& stream) {
  VAMBA_RETURN_IF_ERROR(check_logits("top_k", logits));
  if (values == nullptr || ids == nullptr) return detail::null_arg("top_k", "values/ids");
  if (k < 1 || k > logits.numel()) {
    return invalid_argument("top_k: k = " + std::to_string(k) + " outside [1, " +
                            std::to_string(logits.numel()) + "]");
  }
  if (logits.is_cuda()) return cuda_backend::top_k(logits, k, values, ids, stream);
  values->resize(static_cast<size_t>(k));
  ids->resize(static_cast<size_t>(k));
  kernels::reference::top_k(logits.data<float>(), logits.numel(), k, values->data(), ids->data());
  return ok_status();
}

StatusOr<int64_t> sample(const Tensor& logits, const SamplingParams& params, double u,
                         const Stream& stream) {
  VAMBA_RETURN_IF_ERROR(check_logits("sample", logits));
  if (!(u >= 0.0 && u < 1.0)) return invalid_argument("sample: u must lie in [0, 1)");
  if (logits.is_cuda()) return cuda_backend::sample(logits, params, u, stream);
  return kernels::reference::sample(logits.data<float>(), logits.numel(), params, u);
}

}  // namespace vamba::ops
