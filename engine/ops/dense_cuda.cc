// The CUDA backend of the dense ops (engine/ops/cuda_backend.h): linear, norms, activations, adds,
// casts, embedding, rotary, the Mamba gated norm, and next-token selection. The op layer has
// already checked shapes, dtypes and devices and allocated outputs; here each op fills a kernel
// params struct, asks the kernel's can_implement (its limits beyond the op's own checks), launches
// on the op's stream, and turns the cudaError_t into a Status.
#include <cuda_runtime_api.h>

#include <string>

#include "engine/ops/cuda_backend.h"
#include "kernels/elementwise/activation.h"
#include "kernels/elementwise/add.h"
#include "kernels/elementwise/cast.h"
#include "kernels/embedding/embedding.h"
#include "kernels/gemm/gemm.h"
#include "kernels/gemm/gemv_mma.h"
#include "kernels/norm/norm.h"
#include "kernels/rope/rope.h"
#include "kernels/sampling/sampling.h"

namespace vamba::ops::cuda_backend {
namespace {

cudaStream_t cu(const Stream& stream) { return static_cast<cudaStream_t>(stream.handle()); }

Status from_cuda(cudaError_t e, const char* op, const std::string& detail = std::string()) {
  if (e == cudaSuccess) return ok_status();
  std::string msg = std::string(op) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) +
                    ")" + (detail.empty() ? std::string() : ": " + detail);
  if (e == cudaErrorMemoryAllocation) return resource_exhausted(std::move(msg));
  return internal_error(std::move(msg));
}

Status rejected(const char* op, const char* why) {
  return invalid_argument(std::string(op) + ": the CUDA kernel cannot run this: " + why);
}

// Checks the params against the kernel's limits, then launches.
template <typename Params, typename Launch>
Status run(const char* op, const Params& p, Launch&& launch) {
  if (const char* why = kernels::can_implement(p)) return rejected(op, why);
  return from_cuda(launch(p), op);
}

int64_t rows_of(const Tensor& x) { return x.dim(-1) == 0 ? 0 : x.numel() / x.dim(-1); }

// A scratch tensor on x's device (from the caching allocator) for results read back on the host.
StatusOr<Tensor> scratch(const Tensor& like, const Shape& shape, DType dtype) {
  return Tensor::empty(shape, dtype, like.device());
}

}  // namespace

// --- linear -------------------------------------------------------------------------------------

Status linear(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor* y,
              const Stream& stream) {
  kernels::GemmParams p;
  p.x = x.raw_data();
  p.w = w.raw_data();
  p.bias = bias.defined() ? bias.raw_data() : nullptr;
  p.y = y->raw_data();
  p.k = x.dim(-1);
  p.n = w.dim(0);
  p.m = p.k == 0 ? 0 : x.numel() / p.k;
  p.y_f32 = y->dtype() == DType::kF32;
  if (const char* why = kernels::can_implement(p)) return rejected("linear", why);
  const cudaError_t e = kernels::gemm(p, cu(stream));
  return from_cuda(e, "linear", e == cudaSuccess ? std::string() : kernels::gemm_last_error());
}

namespace {

// The tensor-core GEMV's params for x (m, K) against w (N, K) writing one output y; the fused
// decode forms below add their second weight or output segments.
kernels::GemvMmaParams gemv_mma_params(const Tensor& x, const Tensor& w, int64_t m, Tensor* y) {
  kernels::GemvMmaParams p;
  p.x = x.raw_data();
  p.w = w.raw_data();
  p.m = m;
  p.n = w.dim(0);
  p.k = x.dim(-1);
  p.out[0].y = y->raw_data();
  p.out[0].rows = p.n;
  return p;
}

// Launches p if the kernel takes it (*done), else leaves the op to its unfused path.
Status run_gemv_mma(const char* op, const kernels::GemvMmaParams& p, bool* done,
                    const Stream& stream) {
  if (kernels::gemv_mma_can_implement(p) != nullptr) return ok_status();
  *done = true;
  return from_cuda(kernels::gemv_mma(p, cu(stream)), op);
}

}  // namespace

Status linear_split_fused(const Tensor& x, const Tensor& w, const Tensor& bias,
                          const std::vector<int64_t>& widths, std::vector<Tensor>* ys, bool* done,
                          const Stream& stream) {
  *done = false;
  const int64_t m = rows_of(x);
  if (!kernels::gemv_mma_auto(m) || widths.size() > kernels::kGemvMmaMaxOutputs) return ok_status();
  kernels::GemvMmaParams p = gemv_mma_params(x, w, m, &(*ys)[0]);
  p.bias = bias.defined() ? bias.raw_data() : nullptr;
  p.num_outputs = static_cast<int>(widths.size());
  for (size_t s = 0; s < widths.size(); ++s) {
    p.out[s].y = (*ys)[s].raw_data();
    p.out[s].rows = widths[s];
  }
  return run_gemv_mma("linear_split", p, done, stream);
}

Status linear_swiglu_fused(const Tensor& x, const Tensor& w_gate, const Tensor& w_up, Tensor* y,
                           bool* done, const Stream& stream) {
  *done = false;
  const int64_t m = rows_of(x);
  if (!kernels::gemv_mma_auto(m)) return ok_status();
  kernels::GemvMmaParams p = gemv_mma_params(x, w_gate, m, y);
  p.w_up = w_up.raw_data();
  return run_gemv_mma("linear_swiglu", p, done, stream);
}

Status linear_pair_residual_fused(const Tensor& x, const Tensor& w, const Tensor& x2,
                                  const Tensor& w2, float alpha, float alpha2, Tensor* h,
                                  bool* done, const Stream& stream) {
  *done = false;
  const int64_t m = rows_of(x);
  if (!kernels::gemv_mma_auto(m)) return ok_status();
  kernels::GemvMmaParams p = gemv_mma_params(x, w, m, h);
  p.pair_blend = true;
  p.x2 = x2.raw_data();
  p.w2 = w2.raw_data();
  p.alpha = alpha;
  p.alpha2 = alpha2;
  return run_gemv_mma("linear_pair_residual", p, done, stream);
}

// --- norms --------------------------------------------------------------------------------------

Status rms_norm(const Tensor& x, const Tensor& w, float eps, Tensor* y, const Stream& stream) {
  kernels::RmsNormParams p;
  p.x = x.raw_data();
  p.w = w.raw_data();
  p.y = y->raw_data();
  p.rows = rows_of(x);
  p.dim = x.dim(-1);
  p.eps = eps;
  return run("rms_norm", p, [&](const auto& q) { return kernels::rms_norm(q, cu(stream)); });
}

Status add_rms_norm(Tensor* residual, const Tensor& x, const Tensor& w, float eps, Tensor* y,
                    const Stream& stream) {
  kernels::AddRmsNormParams p;
  p.residual = residual->raw_data();
  p.x = x.raw_data();
  p.w = w.raw_data();
  p.y = y->raw_data();
  p.rows = rows_of(x);
  p.dim = x.dim(-1);
  p.eps = eps;
  return run("add_rms_norm", p,
             [&](const auto& q) { return kernels::add_rms_norm(q, cu(stream)); });
}

Status layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, float eps, Tensor* y,
                  const Stream& stream) {
  kernels::LayerNormParams p;
  p.x = x.raw_data();
  p.w = w.raw_data();
  p.b = b.defined() ? b.raw_data() : nullptr;
  p.y = y->raw_data();
  p.rows = rows_of(x);
  p.dim = x.dim(-1);
  p.eps = eps;
  return run("layer_norm", p, [&](const auto& q) { return kernels::layer_norm(q, cu(stream)); });
}

Status mamba_gated_norm(const Tensor& y, const Tensor& zxbcdt, const Tensor& norm_w,
                        const MambaDims& dims, bool norm_before_gate, float eps, Tensor* out,
                        const Stream& stream) {
  kernels::GatedRmsNormParams p;
  p.x = y.raw_data();
  p.z = zxbcdt.raw_data();  // z: the first d_inner columns of each in_proj row, read in place
  p.ldz = zxbcdt.dim(1);
  p.w = norm_w.raw_data();
  p.y = out->raw_data();
  p.rows = y.dim(0);
  p.dim = dims.d_inner;
  p.group_size = dims.ngroups > 0 ? dims.d_inner / dims.ngroups : dims.d_inner;
  p.norm_before_gate = norm_before_gate;
  p.eps = eps;
  return run("mamba_gated_norm", p,
             [&](const auto& q) { return kernels::gated_rms_norm(q, cu(stream)); });
}

// --- activations and adds -----------------------------------------------------------------------
// Same-shape dense tensors: one (1 × numel) row; the kernels vectorise it as far as alignment
// allows.

namespace {

Status activation(const char* op, kernels::Activation act, const Tensor& x, Tensor* y,
                  const Stream& stream) {
  kernels::ActivationParams p;
  p.x = x.raw_data();
  p.y = y->raw_data();
  p.rows = 1;
  p.cols = x.numel();
  p.act = act;
  return run(op, p, [&](const auto& q) { return kernels::activation(q, cu(stream)); });
}

}  // namespace

Status silu_mul(const Tensor& gate, const Tensor& up, Tensor* y, const Stream& stream) {
  kernels::SiluMulParams p;
  p.gate = gate.raw_data();
  p.up = up.raw_data();
  p.y = y->raw_data();
  p.rows = 1;
  p.cols = gate.numel();
  return run("silu_mul", p, [&](const auto& q) { return kernels::silu_mul(q, cu(stream)); });
}

Status quick_gelu(const Tensor& x, Tensor* y, const Stream& stream) {
  return activation("quick_gelu", kernels::Activation::kQuickGelu, x, y, stream);
}

Status gelu(const Tensor& x, Tensor* y, const Stream& stream) {
  return activation("gelu", kernels::Activation::kGelu, x, y, stream);
}

Status add(const Tensor& a, const Tensor& b, Tensor* y, const Stream& stream) {
  kernels::AddParams p;
  p.a = a.raw_data();
  p.b = b.raw_data();
  p.y = y->raw_data();
  p.rows = 1;
  p.cols = a.numel();
  return run("add", p, [&](const auto& q) { return kernels::add(q, cu(stream)); });
}

Status residual_blend(Tensor* h, const Tensor& s, const Tensor& c, float alpha_s, float alpha_c,
                      const Stream& stream) {
  kernels::AddParams p;
  p.a = h->raw_data();
  p.b = s.raw_data();
  p.c = c.raw_data();
  p.y = h->raw_data();
  p.rows = 1;
  p.cols = h->numel();
  p.alpha_b = alpha_s;
  p.alpha_c = alpha_c;
  return run("residual_blend", p, [&](const auto& q) { return kernels::add(q, cu(stream)); });
}

Status cast(const Tensor& x, DType dtype, Tensor* y, const Stream& stream) {
  if (x.dtype() == DType::kBF16 && dtype == DType::kF32) {
    return from_cuda(
        kernels::cast_bf16_to_f32(x.raw_data(), y->data<float>(), x.numel(), cu(stream)), "cast");
  }
  if (x.dtype() == DType::kF32 && dtype == DType::kBF16) {
    return from_cuda(
        kernels::cast_f32_to_bf16(x.data<float>(), y->raw_data(), x.numel(), cu(stream)), "cast");
  }
  return invalid_argument(std::string("cast: no CUDA cast from ") + dtype_name(x.dtype()) + " to " +
                          dtype_name(dtype));
}

// --- embedding and rotary -----------------------------------------------------------------------

Status embedding(const Tensor& table, const Tensor& ids, Tensor* out, const Stream& stream) {
  kernels::EmbeddingParams p;
  p.table = table.raw_data();
  p.ids = ids.data<int64_t>();
  p.out = out->raw_data();
  p.vocab = table.dim(0);
  p.dim = table.dim(1);
  p.n = ids.dim(0);
  return run("embedding", p, [&](const auto& q) { return kernels::embedding(q, cu(stream)); });
}

Status apply_rotary(Tensor* x, const Tensor& cos, const Tensor& sin, const Stream& stream) {
  kernels::RotaryParams p;
  p.x = x->raw_data();
  p.n = x->dim(0);
  p.heads = x->dim(1);
  p.head_dim = x->dim(2);
  p.cos = cos.data<float>();
  p.sin = sin.data<float>();
  return run("apply_rotary", p,
             [&](const auto& q) { return kernels::apply_rotary(q, cu(stream)); });
}

Status apply_rotary_qk(Tensor* q, Tensor* k, const Tensor& cos, const Tensor& sin,
                       const Stream& stream) {
  kernels::RotaryParams p;
  p.x = q->raw_data();
  p.heads = q->dim(1);
  p.x2 = k->raw_data();
  p.heads2 = k->dim(1);
  p.n = q->dim(0);
  p.head_dim = q->dim(2);
  p.cos = cos.data<float>();
  p.sin = sin.data<float>();
  return run("apply_rotary_qk", p,
             [&](const auto& r) { return kernels::apply_rotary(r, cu(stream)); });
}

// --- next-token selection (synchronises the stream) ---------------------------------------------

StatusOr<int64_t> argmax(const Tensor& logits, const Stream& stream) {
  VAMBA_ASSIGN_OR_RETURN(Tensor id, scratch(logits, {1}, DType::kI64));
  kernels::ArgmaxParams p;
  p.logits = logits.raw_data();
  p.f32 = logits.dtype() == DType::kF32;
  p.rows = 1;
  p.vocab = logits.numel();
  p.ids = id.data<int64_t>();
  VAMBA_RETURN_IF_ERROR(
      run("argmax", p, [&](const auto& q) { return kernels::argmax(q, cu(stream)); }));
  VAMBA_ASSIGN_OR_RETURN(Tensor host, id.to(Device::cpu(), &stream));
  VAMBA_RETURN_IF_ERROR(stream.synchronize());
  return host.data<int64_t>()[0];
}

StatusOr<std::vector<int64_t>> argmax_rows(const Tensor& logits, const Stream& stream) {
  const int64_t rows = logits.dim(0);
  VAMBA_ASSIGN_OR_RETURN(Tensor ids, scratch(logits, {rows}, DType::kI64));
  kernels::ArgmaxParams p;
  p.logits = logits.raw_data();
  p.f32 = logits.dtype() == DType::kF32;
  p.rows = rows;
  p.vocab = logits.dim(1);
  p.ids = ids.data<int64_t>();
  VAMBA_RETURN_IF_ERROR(
      run("argmax_rows", p, [&](const auto& q) { return kernels::argmax(q, cu(stream)); }));
  VAMBA_ASSIGN_OR_RETURN(Tensor host, ids.to(Device::cpu(), &stream));
  VAMBA_RETURN_IF_ERROR(stream.synchronize());
  return std::vector<int64_t>(host.data<int64_t>(), host.data<int64_t>() + rows);
}

Status top_k(const Tensor& logits, int64_t k, std::vector<float>* values, std::vector<int64_t>* ids,
             const Stream& stream) {
  const int64_t vocab = logits.numel();
  const auto ws_bytes = static_cast<int64_t>(kernels::sampling_workspace_bytes(vocab));
  VAMBA_ASSIGN_OR_RETURN(Tensor ws, scratch(logits, {ws_bytes}, DType::kU8));
  VAMBA_ASSIGN_OR_RETURN(Tensor vals, scratch(logits, {k}, DType::kF32));
  VAMBA_ASSIGN_OR_RETURN(Tensor idx, scratch(logits, {k}, DType::kI64));
  kernels::TopKParams p;
  p.logits = logits.raw_data();
  p.f32 = logits.dtype() == DType::kF32;
  p.vocab = vocab;
  p.k = k;
  p.values = vals.data<float>();
  p.ids = idx.data<int64_t>();
  p.workspace = ws.raw_data();
  p.workspace_bytes = static_cast<size_t>(ws_bytes);
  VAMBA_RETURN_IF_ERROR(
      run("top_k", p, [&](const auto& q) { return kernels::top_k(q, cu(stream)); }));
  VAMBA_ASSIGN_OR_RETURN(Tensor hv, vals.to(Device::cpu(), &stream));
  VAMBA_ASSIGN_OR_RETURN(Tensor hi, idx.to(Device::cpu(), &stream));
  VAMBA_RETURN_IF_ERROR(stream.synchronize());
  values->assign(hv.data<float>(), hv.data<float>() + k);
  ids->assign(hi.data<int64_t>(), hi.data<int64_t>() + k);
  return ok_status();
}

StatusOr<int64_t> sample(const Tensor& logits, const SamplingParams& params, double u,
                         const Stream& stream) {
  const int64_t vocab = logits.numel();
  // The reference's greedy cases.
  if (params.temperature <= 0.0f || vocab <= 1) return argmax(logits, stream);
  const auto ws_bytes = static_cast<int64_t>(kernels::sampling_workspace_bytes(vocab));
  VAMBA_ASSIGN_OR_RETURN(Tensor ws, scratch(logits, {ws_bytes}, DType::kU8));
  VAMBA_ASSIGN_OR_RETURN(Tensor id, scratch(logits, {1}, DType::kI64));
  kernels::SampleParams p;
  p.logits = logits.raw_data();
  p.f32 = logits.dtype() == DType::kF32;
  p.vocab = vocab;
  p.temperature = params.temperature;
  p.top_k = params.top_k;
  p.top_p = params.top_p;
  p.u = u;
  p.id = id.data<int64_t>();
  p.workspace = ws.raw_data();
  p.workspace_bytes = static_cast<size_t>(ws_bytes);
  VAMBA_RETURN_IF_ERROR(
      run("sample", p, [&](const auto& q) { return kernels::sample(q, cu(stream)); }));
  VAMBA_ASSIGN_OR_RETURN(Tensor host, id.to(Device::cpu(), &stream));
  VAMBA_RETURN_IF_ERROR(stream.synchronize());
  return host.data<int64_t>()[0];
}

}  // namespace vamba::ops::cuda_backend
