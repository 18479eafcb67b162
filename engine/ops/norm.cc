#include "engine/ops/norm.h"

#include "engine/ops/cuda_backend.h"
#include "kernels/reference/norm.h"

namespace vamba::ops {
namespace {

Status check_xw(const char* op, const Tensor& x, const Tensor& w) {
  const Device dev = x.device();
  const DType act = activation_dtype(dev);
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "x", x, -1, act, dev));
  if (x.rank() < 1) return detail::bad(op, "x", "of rank >= 1", x);
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "w", w, 1, act, dev));
  return detail::expect_dim(op, "w", w, 0, x.dim(-1));
}

int64_t rows_of(const Tensor& x) { return x.dim(-1) == 0 ? 0 : x.numel() / x.dim(-1); }

}  // namespace

Status rms_norm(const Tensor& x, const Tensor& w, float eps, Tensor* y, const Stream& stream) {
  constexpr const char* op = "rms_norm";
  VAMBA_RETURN_IF_ERROR(check_xw(op, x, w));
  VAMBA_RETURN_IF_ERROR(detail::prepare_output(op, "y", y, x.shape(), x.dtype(), x.device()));
  if (x.is_cuda()) return cuda_backend::rms_norm(x, w, eps, y, stream);
  kernels::reference::rms_norm(x.data<float>(), w.data<float>(), y->data<float>(), rows_of(x),
                               x.dim(-1), eps);
  return ok_status();
}

Status add_rms_norm(Tensor* residual, const Tensor& x, const Tensor& w, float eps, Tensor* y,
                    const Stream& stream) {
  constexpr const char* op = "add_rms_norm";
  if (residual == nullptr) return detail::null_arg(op, "residual");
  VAMBA_RETURN_IF_ERROR(check_xw(op, x, w));
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "residual", *residual, x.rank(), x.dtype(), x.device()));
  if (residual->shape() != x.shape()) return detail::bad(op, "residual", "x's shape", *residual);
  VAMBA_RETURN_IF_ERROR(detail::prepare_output(op, "y", y, x.shape(), x.dtype(), x.device()));
  if (y->raw_data() == residual->raw_data()) {
    return invalid_argument("add_rms_norm: y must not be the residual");
  }
  if (x.is_cuda()) return cuda_backend::add_rms_norm(residual, x, w, eps, y, stream);
  kernels::reference::add_rms_norm(residual->data<float>(), x.data<float>(), w.data<float>(),
                                   y->data<float>(), rows_of(x), x.dim(-1), eps);
  return ok_status();
}

Status layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, float eps, Tensor* y,
                  const Stream& stream) {
  constexpr const char* op = "layer_norm";
  VAMBA_RETURN_IF_ERROR(check_xw(op, x, w));
  if (b.defined()) {
    VAMBA_RETURN_IF_ERROR(detail::expect(op, "b", b, 1, x.dtype(), x.device()));
    VAMBA_RETURN_IF_ERROR(detail::expect_dim(op, "b", b, 0, x.dim(-1)));
  }
  VAMBA_RETURN_IF_ERROR(detail::prepare_output(op, "y", y, x.shape(), x.dtype(), x.device()));
  if (x.is_cuda()) return cuda_backend::layer_norm(x, w, b, eps, y, stream);
  kernels::reference::layer_norm(x.data<float>(), w.data<float>(),
                                 b.defined() ? b.data<float>() : nullptr, y->data<float>(),
                                 rows_of(x), x.dim(-1), eps);
  return ok_status();
}

}  // namespace vamba::ops
