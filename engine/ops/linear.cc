#include "engine/ops/linear.h"

#include "engine/ops/cuda_backend.h"
#include "kernels/reference/linear.h"

namespace vamba::ops {

Status linear(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor* y,
              const Stream& stream) {
  constexpr const char* op = "linear";
  const Device dev = x.device();
  const DType act = activation_dtype(dev);
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "x", x, -1, act, dev));
  if (x.rank() < 1) return detail::bad(op, "x", "of rank >= 1", x);
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "w", w, 2, act, dev));
  const int64_t k = x.dim(-1), n = w.dim(0);
  VAMBA_RETURN_IF_ERROR(detail::expect_dim(op, "w", w, 1, k));
  if (bias.defined()) {
    VAMBA_RETURN_IF_ERROR(detail::expect(op, "bias", bias, 1, act, dev));
    VAMBA_RETURN_IF_ERROR(detail::expect_dim(op, "bias", bias, 0, n));
  }
  Shape out_shape = x.shape();
  out_shape.back() = n;
  if (y == nullptr) return detail::null_arg(op, "y");
  // CUDA may write f32 logits from bf16 inputs into a caller-provided f32 tensor.
  const DType out_dtype =
      (dev.is_cuda() && y->defined() && y->dtype() == DType::kF32) ? DType::kF32 : act;
  VAMBA_RETURN_IF_ERROR(detail::prepare_output(op, "y", y, out_shape, out_dtype, dev));
  if (dev.is_cuda()) return cuda_backend::linear(x, w, bias, y, stream);
  const int64_t m = k == 0 ? 0 : x.numel() / k;
  kernels::reference::linear(x.data<float>(), w.data<float>(),
                             bias.defined() ? bias.data<float>() : nullptr, y->data<float>(), m, n,
                             k);
  return ok_status();
}

}  // namespace vamba::ops
