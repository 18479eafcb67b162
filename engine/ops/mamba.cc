#include "engine/ops/mamba.h"

#include <vector>

#include "engine/ops/cuda_backend.h"
#include "kernels/reference/conv1d.h"
#include "kernels/reference/norm.h"
#include "kernels/reference/ssd.h"

namespace vamba::ops {
namespace {

// Columns [begin, begin + width) of a (rows, ld) f32 matrix, copied out contiguously. The CPU path
// copies (cheap next to the GEMMs); the CUDA backend reads the columns in place.
std::vector<float> columns(const Tensor& t, int64_t begin, int64_t width) {
  const int64_t rows = t.dim(0), ld = t.dim(1);
  std::vector<float> out(static_cast<size_t>(rows * width));
  const float* src = t.data<float>();
  for (int64_t r = 0; r < rows; ++r) {
    std::copy(src + r * ld + begin, src + r * ld + begin + width, out.data() + r * width);
  }
  return out;
}

Status check_zxbcdt(const char* op, const Tensor& zxbcdt, const MambaDims& dims) {
  VAMBA_RETURN_IF_ERROR(dims.validate());
  const Device dev = zxbcdt.device();
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "zxbcdt", zxbcdt, 2, activation_dtype(dev), dev));
  return detail::expect_dim(op, "zxbcdt", zxbcdt, 1, dims.in_proj_dim());
}

Status check_state(const char* op, const char* name, const Tensor* state, const Shape& shape,
                   Device dev) {
  if (state == nullptr) return ok_status();
  VAMBA_RETURN_IF_ERROR(
      detail::expect(op, name, *state, static_cast<int>(shape.size()), DType::kF32, dev));
  if (state->shape() != shape) return detail::bad(op, name, shape_to_string(shape), *state);
  return ok_status();
}

Status check_vector(const char* op, const char* name, const Tensor& t, int64_t n, DType dtype,
                    Device dev) {
  VAMBA_RETURN_IF_ERROR(detail::expect(op, name, t, 1, dtype, dev));
  return detail::expect_dim(op, name, t, 0, n);
}

}  // namespace

Status MambaDims::validate() const {
  if (d_inner <= 0 || nheads <= 0 || headdim <= 0 || ngroups <= 0 || dstate <= 0 || d_conv < 1) {
    return invalid_argument("MambaDims: every dimension must be positive");
  }
  if (nheads * headdim != d_inner) {
    return invalid_argument("MambaDims: nheads × headdim (" + std::to_string(nheads * headdim) +
                            ") must equal d_inner (" + std::to_string(d_inner) + ")");
  }
  if (nheads % ngroups != 0) {
    return invalid_argument("MambaDims: ngroups must divide nheads");
  }
  return ok_status();
}

Status mamba_conv(const Tensor& zxbcdt, const Tensor& conv_w, const Tensor& conv_b,
                  const MambaDims& dims, Tensor* conv_state, Tensor* xbc, const Stream& stream) {
  constexpr const char* op = "mamba_conv";
  VAMBA_RETURN_IF_ERROR(check_zxbcdt(op, zxbcdt, dims));
  const Device dev = zxbcdt.device();
  const DType act = zxbcdt.dtype();
  const int64_t L = zxbcdt.dim(0), C = dims.conv_dim(), W = dims.d_conv;
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "conv_w", conv_w, 2, act, dev));
  if (conv_w.dim(0) != C || conv_w.dim(1) != W) {
    return detail::bad(op, "conv_w", detail::shape2(C, W), conv_w);
  }
  if (conv_b.defined()) VAMBA_RETURN_IF_ERROR(check_vector(op, "conv_b", conv_b, C, act, dev));
  VAMBA_RETURN_IF_ERROR(check_state(op, "conv_state", conv_state, {W - 1, C}, dev));
  VAMBA_RETURN_IF_ERROR(detail::prepare_output(op, "xbc", xbc, {L, C}, act, dev));
  if (dev.is_cuda())
    return cuda_backend::mamba_conv(zxbcdt, conv_w, conv_b, dims, conv_state, xbc, stream);
  const std::vector<float> x = columns(zxbcdt, dims.d_inner, C);
  kernels::reference::Conv1dParams p;
  p.length = L;
  p.channels = C;
  p.width = W;
  p.silu = true;
  float* state = conv_state ? conv_state->data<float>() : nullptr;
  kernels::reference::causal_conv1d(x.data(), conv_w.data<float>(),
                                    conv_b.defined() ? conv_b.data<float>() : nullptr, state,
                                    xbc->data<float>(), state, p);
  return ok_status();
}

Status mamba_dt(const Tensor& zxbcdt, const Tensor& dt_bias, const MambaDims& dims, float dt_min,
                float dt_max, Tensor* dt, const Stream& stream) {
  constexpr const char* op = "mamba_dt";
  VAMBA_RETURN_IF_ERROR(check_zxbcdt(op, zxbcdt, dims));
  const Device dev = zxbcdt.device();
  const int64_t L = zxbcdt.dim(0), H = dims.nheads;
  VAMBA_RETURN_IF_ERROR(check_vector(op, "dt_bias", dt_bias, H, DType::kF32, dev));
  VAMBA_RETURN_IF_ERROR(detail::prepare_output(op, "dt", dt, {L, H}, DType::kF32, dev));
  if (dev.is_cuda())
    return cuda_backend::mamba_dt(zxbcdt, dt_bias, dims, dt_min, dt_max, dt, stream);
  const std::vector<float> raw = columns(zxbcdt, dims.d_inner + dims.conv_dim(), H);
  kernels::reference::dt_softplus(raw.data(), dt_bias.data<float>(), dt->data<float>(), L, H,
                                  dt_min, dt_max);
  return ok_status();
}

Status ssd_scan(const Tensor& xbc, const Tensor& dt, const Tensor& A, const Tensor& D,
                const MambaDims& dims, Tensor* ssm_state, Tensor* y, const Stream& stream) {
  constexpr const char* op = "ssd_scan";
  VAMBA_RETURN_IF_ERROR(dims.validate());
  const Device dev = xbc.device();
  const DType act = activation_dtype(dev);
  const int64_t H = dims.nheads, P = dims.headdim, G = dims.ngroups, N = dims.dstate;
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "xbc", xbc, 2, act, dev));
  VAMBA_RETURN_IF_ERROR(detail::expect_dim(op, "xbc", xbc, 1, dims.conv_dim()));
  const int64_t L = xbc.dim(0);
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "dt", dt, 2, DType::kF32, dev));
  if (dt.dim(0) != L || dt.dim(1) != H) {
    return detail::bad(op, "dt", detail::shape2(L, H), dt);
  }
  VAMBA_RETURN_IF_ERROR(check_vector(op, "A", A, H, DType::kF32, dev));
  if (D.defined()) VAMBA_RETURN_IF_ERROR(check_vector(op, "D", D, H, DType::kF32, dev));
  VAMBA_RETURN_IF_ERROR(check_state(op, "ssm_state", ssm_state, {H, P, N}, dev));
  VAMBA_RETURN_IF_ERROR(detail::prepare_output(op, "y", y, {L, dims.d_inner}, act, dev));
  if (dev.is_cuda()) return cuda_backend::ssd_scan(xbc, dt, A, D, dims, ssm_state, y, stream);
  const std::vector<float> x = columns(xbc, 0, H * P);
  const std::vector<float> B = columns(xbc, H * P, G * N);
  const std::vector<float> C = columns(xbc, H * P + G * N, G * N);
  kernels::reference::SsdParams p;
  p.length = L;
  p.nheads = H;
  p.headdim = P;
  p.ngroups = G;
  p.dstate = N;
  float* state = ssm_state ? ssm_state->data<float>() : nullptr;
  kernels::reference::ssd_scan(x.data(), dt.data<float>(), A.data<float>(), B.data(), C.data(),
                               D.defined() ? D.data<float>() : nullptr, state, y->data<float>(),
                               state, p);
  return ok_status();
}

Status mamba_gated_norm(const Tensor& y, const Tensor& zxbcdt, const Tensor& norm_w,
                        const MambaDims& dims, bool norm_before_gate, float eps, Tensor* out,
                        const Stream& stream) {
  constexpr const char* op = "mamba_gated_norm";
  VAMBA_RETURN_IF_ERROR(check_zxbcdt(op, zxbcdt, dims));
  const Device dev = zxbcdt.device();
  const DType act = zxbcdt.dtype();
  const int64_t L = zxbcdt.dim(0);
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "y", y, 2, act, dev));
  if (y.dim(0) != L || y.dim(1) != dims.d_inner) {
    return detail::bad(op, "y", detail::shape2(L, dims.d_inner), y);
  }
  VAMBA_RETURN_IF_ERROR(check_vector(op, "norm_w", norm_w, dims.d_inner, act, dev));
  VAMBA_RETURN_IF_ERROR(detail::prepare_output(op, "out", out, {L, dims.d_inner}, act, dev));
  if (dev.is_cuda()) {
    return cuda_backend::mamba_gated_norm(y, zxbcdt, norm_w, dims, norm_before_gate, eps, out,
                                          stream);
  }
  const std::vector<float> z = columns(zxbcdt, 0, dims.d_inner);
  kernels::reference::gated_rms_norm(y.data<float>(), z.data(), norm_w.data<float>(),
                                     out->data<float>(), L, dims.d_inner,
                                     dims.d_inner / dims.ngroups, norm_before_gate, eps);
  return ok_status();
}

}  // namespace vamba::ops
