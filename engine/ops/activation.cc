#include "engine/ops/activation.h"

#include "engine/ops/cuda_backend.h"
#include "kernels/reference/activation.h"

namespace vamba::ops {
namespace {

Status check_same(const char* op, const char* name, const Tensor& ref, const Tensor& t) {
  VAMBA_RETURN_IF_ERROR(detail::expect(op, name, t, ref.rank(), ref.dtype(), ref.device()));
  if (t.shape() != ref.shape()) return detail::bad(op, name, shape_to_string(ref.shape()), t);
  return ok_status();
}

Status check_act(const char* op, const Tensor& x) {
  return detail::expect(op, "x", x, -1, activation_dtype(x.device()), x.device());
}

}  // namespace

Status silu_mul(const Tensor& gate, const Tensor& up, Tensor* y, const Stream& stream) {
  constexpr const char* op = "silu_mul";
  VAMBA_RETURN_IF_ERROR(check_act(op, gate));
  VAMBA_RETURN_IF_ERROR(check_same(op, "up", gate, up));
  VAMBA_RETURN_IF_ERROR(
      detail::prepare_output(op, "y", y, gate.shape(), gate.dtype(), gate.device()));
  if (gate.is_cuda()) return cuda_backend::silu_mul(gate, up, y, stream);
  kernels::reference::silu_mul(gate.data<float>(), up.data<float>(), y->data<float>(),
                               gate.numel());
  return ok_status();
}

Status quick_gelu(const Tensor& x, Tensor* y, const Stream& stream) {
  constexpr const char* op = "quick_gelu";
  VAMBA_RETURN_IF_ERROR(check_act(op, x));
  VAMBA_RETURN_IF_ERROR(detail::prepare_output(op, "y", y, x.shape(), x.dtype(), x.device()));
  if (x.is_cuda()) return cuda_backend::quick_gelu(x, y, stream);
  kernels::reference::quick_gelu(x.data<float>(), y->data<float>(), x.numel());
  return ok_status();
}

Status gelu(const Tensor& x, Tensor* y, const Stream& stream) {
  constexpr const char* op = "gelu";
  VAMBA_RETURN_IF_ERROR(check_act(op, x));
  VAMBA_RETURN_IF_ERROR(detail::prepare_output(op, "y", y, x.shape(), x.dtype(), x.device()));
  if (x.is_cuda()) return cuda_backend::gelu(x, y, stream);
  kernels::reference::gelu(x.data<float>(), y->data<float>(), x.numel());
  return ok_status();
}

Status add(const Tensor& a, const Tensor& b, Tensor* y, const Stream& stream) {
  constexpr const char* op = "add";
  VAMBA_RETURN_IF_ERROR(check_act(op, a));
  VAMBA_RETURN_IF_ERROR(check_same(op, "b", a, b));
  VAMBA_RETURN_IF_ERROR(detail::prepare_output(op, "y", y, a.shape(), a.dtype(), a.device()));
  if (a.is_cuda()) return cuda_backend::add(a, b, y, stream);
  kernels::reference::add(a.data<float>(), b.data<float>(), y->data<float>(), a.numel());
  return ok_status();
}

Status residual_blend(Tensor* h, const Tensor& s, const Tensor& c, float alpha_s, float alpha_c,
                      const Stream& stream) {
  constexpr const char* op = "residual_blend";
  if (h == nullptr) return detail::null_arg(op, "h");
  VAMBA_RETURN_IF_ERROR(check_act(op, *h));
  VAMBA_RETURN_IF_ERROR(check_same(op, "s", *h, s));
  VAMBA_RETURN_IF_ERROR(check_same(op, "c", *h, c));
  if (h->is_cuda()) return cuda_backend::residual_blend(h, s, c, alpha_s, alpha_c, stream);
  kernels::reference::residual_blend(h->data<float>(), s.data<float>(), c.data<float>(), alpha_s,
                                     alpha_c, h->numel());
  return ok_status();
}

Status cast(const Tensor& x, DType dtype, Tensor* y, const Stream& stream) {
  constexpr const char* op = "cast";
  const bool floating = [](DType d) { return d == DType::kF32 || d == DType::kBF16; }(x.dtype());
  if (!x.defined() || !floating) return detail::bad(op, "x", "f32 or bf16", x);
  if (dtype != DType::kF32 && dtype != DType::kBF16) {
    return invalid_argument(std::string("cast: target dtype must be f32 or bf16, got ") +
                            dtype_name(dtype));
  }
  VAMBA_RETURN_IF_ERROR(detail::prepare_output(op, "y", y, x.shape(), dtype, x.device()));
  if (x.dtype() == dtype) return y->copy_from(x, x.is_cuda() ? &stream : nullptr);
  if (x.is_cuda()) return cuda_backend::cast(x, dtype, y, stream);
  return convert_host(x.raw_data(), x.dtype(), y->raw_data(), dtype, x.numel());
}

}  // namespace vamba::ops
