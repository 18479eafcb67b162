#include "engine/ops/linear.h"

#include "engine/ops/activation.h"
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

Status linear_split(const Tensor& x, const Tensor& w, const Tensor& bias,
                    const std::vector<int64_t>& widths, std::vector<Tensor>* ys,
                    const Stream& stream) {
  constexpr const char* op = "linear_split";
  if (ys == nullptr) return detail::null_arg(op, "ys");
  const Device dev = x.device();
  const DType act = activation_dtype(dev);
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "x", x, -1, act, dev));
  if (x.rank() < 1) return detail::bad(op, "x", "of rank >= 1", x);
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "w", w, 2, act, dev));
  VAMBA_RETURN_IF_ERROR(detail::expect_dim(op, "w", w, 1, x.dim(-1)));
  int64_t n = 0;
  for (const int64_t width : widths) {
    if (width < 1) return invalid_argument("linear_split: every part needs at least one row");
    n += width;
  }
  if (widths.empty() || n != w.dim(0)) {
    return invalid_argument("linear_split: the parts' widths must add up to w's " +
                            std::to_string(w.dim(0)) + " rows");
  }
  if (bias.defined()) {
    VAMBA_RETURN_IF_ERROR(detail::expect(op, "bias", bias, 1, act, dev));
    VAMBA_RETURN_IF_ERROR(detail::expect_dim(op, "bias", bias, 0, n));
  }
  ys->resize(widths.size());
  for (size_t s = 0; s < widths.size(); ++s) {
    Shape shape = x.shape();
    shape.back() = widths[s];
    VAMBA_RETURN_IF_ERROR(detail::prepare_output(op, "ys", &(*ys)[s], shape, act, dev));
  }
  if (dev.is_cuda()) {
    bool done = false;
    VAMBA_RETURN_IF_ERROR(cuda_backend::linear_split_fused(x, w, bias, widths, ys, &done, stream));
    if (done) return ok_status();
  }
  // One product per part, over row views of the fused weight.
  int64_t row = 0;
  for (size_t s = 0; s < widths.size(); ++s) {
    VAMBA_ASSIGN_OR_RETURN(Tensor part, w.slice_rows(row, row + widths[s]));
    Tensor part_bias;
    if (bias.defined()) {
      VAMBA_ASSIGN_OR_RETURN(part_bias, bias.slice_rows(row, row + widths[s]));
    }
    VAMBA_RETURN_IF_ERROR(linear(x, part, part_bias, &(*ys)[s], stream));
    row += widths[s];
  }
  return ok_status();
}

Status linear_swiglu(const Tensor& x, const Tensor& w_gate, const Tensor& w_up, Tensor* y,
                     const Stream& stream) {
  constexpr const char* op = "linear_swiglu";
  if (y == nullptr) return detail::null_arg(op, "y");
  const Device dev = x.device();
  const DType act = activation_dtype(dev);
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "x", x, -1, act, dev));
  if (x.rank() < 1) return detail::bad(op, "x", "of rank >= 1", x);
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "w_gate", w_gate, 2, act, dev));
  VAMBA_RETURN_IF_ERROR(detail::expect_dim(op, "w_gate", w_gate, 1, x.dim(-1)));
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "w_up", w_up, 2, act, dev));
  if (w_up.shape() != w_gate.shape()) return detail::bad(op, "w_up", "shaped like w_gate", w_up);
  Shape shape = x.shape();
  shape.back() = w_gate.dim(0);
  VAMBA_RETURN_IF_ERROR(detail::prepare_output(op, "y", y, shape, act, dev));
  if (dev.is_cuda()) {
    bool done = false;
    VAMBA_RETURN_IF_ERROR(cuda_backend::linear_swiglu_fused(x, w_gate, w_up, y, &done, stream));
    if (done) return ok_status();
  }
  Tensor up;
  VAMBA_RETURN_IF_ERROR(linear(x, w_gate, Tensor(), y, stream));
  VAMBA_RETURN_IF_ERROR(linear(x, w_up, Tensor(), &up, stream));
  return silu_mul(*y, up, y, stream);
}

Status linear_pair_residual(const Tensor& x, const Tensor& w, const Tensor& x2, const Tensor& w2,
                            float alpha, float alpha2, Tensor* h, const Stream& stream) {
  constexpr const char* op = "linear_pair_residual";
  if (h == nullptr) return detail::null_arg(op, "h");
  const Device dev = x.device();
  const DType act = activation_dtype(dev);
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "x", x, -1, act, dev));
  if (x.rank() < 1) return detail::bad(op, "x", "of rank >= 1", x);
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "x2", x2, x.rank(), act, dev));
  if (x2.shape() != x.shape()) return detail::bad(op, "x2", "shaped like x", x2);
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "w", w, 2, act, dev));
  VAMBA_RETURN_IF_ERROR(detail::expect_dim(op, "w", w, 1, x.dim(-1)));
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "w2", w2, 2, act, dev));
  if (w2.shape() != w.shape()) return detail::bad(op, "w2", "shaped like w", w2);
  Shape shape = x.shape();
  shape.back() = w.dim(0);
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "h", *h, x.rank(), act, dev));
  if (h->shape() != shape) return detail::bad(op, "h", "shaped (..., N) like x", *h);
  if (dev.is_cuda()) {
    bool done = false;
    VAMBA_RETURN_IF_ERROR(
        cuda_backend::linear_pair_residual_fused(x, w, x2, w2, alpha, alpha2, h, &done, stream));
    if (done) return ok_status();
  }
  Tensor s, c;
  VAMBA_RETURN_IF_ERROR(linear(x, w, Tensor(), &s, stream));
  VAMBA_RETURN_IF_ERROR(linear(x2, w2, Tensor(), &c, stream));
  return residual_blend(h, s, c, alpha, alpha2, stream);
}

}  // namespace vamba::ops
