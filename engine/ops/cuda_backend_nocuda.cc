// CPU-only builds: every CUDA backend entry answers FAILED_PRECONDITION. The op layer only calls
// these for CUDA tensors, which a CPU-only build cannot create, so reaching one is a caller bug
// reported as a Status rather than a crash.
#include "engine/ops/cuda_backend.h"

namespace vamba::ops::cuda_backend {
namespace {

Status no_cuda(const char* op) {
  return failed_precondition(std::string("ops::") + op + ": built without CUDA");
}

}  // namespace

Status linear(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor* y,
              const Stream& stream) {
  return no_cuda("linear");
}

Status linear_split_fused(const Tensor& x, const Tensor& w, const Tensor& bias,
                          const std::vector<int64_t>& widths, std::vector<Tensor>* ys, bool* done,
                          const Stream& stream) {
  return no_cuda("linear_split");
}

Status linear_swiglu_fused(const Tensor& x, const Tensor& w_gate, const Tensor& w_up, Tensor* y,
                           bool* done, const Stream& stream) {
  return no_cuda("linear_swiglu");
}

Status linear_pair_residual_fused(const Tensor& x, const Tensor& w, const Tensor& x2,
                                  const Tensor& w2, float alpha, float alpha2, Tensor* h,
                                  bool* done, const Stream& stream) {
  return no_cuda("linear_pair_residual");
}

Status rms_norm(const Tensor& x, const Tensor& w, float eps, Tensor* y, const Stream& stream) {
  return no_cuda("rms_norm");
}

Status add_rms_norm(Tensor* residual, const Tensor& x, const Tensor& w, float eps, Tensor* y,
                    const Stream& stream) {
  return no_cuda("add_rms_norm");
}

Status layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, float eps, Tensor* y,
                  const Stream& stream) {
  return no_cuda("layer_norm");
}

Status silu_mul(const Tensor& gate, const Tensor& up, Tensor* y, const Stream& stream) {
  return no_cuda("silu_mul");
}

Status quick_gelu(const Tensor& x, Tensor* y, const Stream& stream) {
  return no_cuda("quick_gelu");
}

Status gelu(const Tensor& x, Tensor* y, const Stream& stream) { return no_cuda("gelu"); }

Status add(const Tensor& a, const Tensor& b, Tensor* y, const Stream& stream) {
  return no_cuda("add");
}

Status residual_blend(Tensor* h, const Tensor& s, const Tensor& c, float alpha_s, float alpha_c,
                      const Stream& stream) {
  return no_cuda("residual_blend");
}

Status cast(const Tensor& x, DType dtype, Tensor* y, const Stream& stream) {
  return no_cuda("cast");
}

Status embedding(const Tensor& table, const Tensor& ids, Tensor* out, const Stream& stream) {
  return no_cuda("embedding");
}

Status apply_rotary(Tensor* x, const Tensor& cos, const Tensor& sin, const Stream& stream) {
  return no_cuda("apply_rotary");
}

Status attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& options,
                 Tensor* out, const Stream& stream) {
  return no_cuda("attention");
}

Status cross_attention(const Tensor& q, const Tensor& k, const Tensor& v, float scale, Tensor* out,
                       const Stream& stream) {
  return no_cuda("cross_attention");
}

Status decode_attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                        int64_t kv_len, float scale, Tensor* out, const Stream& stream) {
  return no_cuda("decode_attention");
}

Status cross_attention_fp8(const Tensor& q, const Tensor& k_codes, const Tensor& v_codes,
                           const Tensor& k_scales, const Tensor& v_scales, int64_t kv_len,
                           float scale, Tensor* out, const Stream& stream, bool* ran) {
  return no_cuda("cross_attention_fp8");
}

Status decode_attention_batch(const Tensor&, const std::vector<Tensor>&, const std::vector<Tensor>&,
                              const std::vector<int64_t>&, const Tensor&, const Tensor&, float,
                              Tensor*, const Stream&) {
  return no_cuda("decode_attention_batch");
}

Status mamba_conv(const Tensor& zxbcdt, const Tensor& conv_w, const Tensor& conv_b,
                  const MambaDims& dims, Tensor* conv_state, Tensor* xbc, const Stream& stream) {
  return no_cuda("mamba_conv");
}

Status mamba_dt(const Tensor& zxbcdt, const Tensor& dt_bias, const MambaDims& dims, float dt_min,
                float dt_max, Tensor* dt, const Stream& stream) {
  return no_cuda("mamba_dt");
}

Status ssd_scan(const Tensor& xbc, const Tensor& dt, const Tensor& A, const Tensor& D,
                const MambaDims& dims, Tensor* ssm_state, Tensor* y, const Stream& stream) {
  return no_cuda("ssd_scan");
}

Status mamba_gated_norm(const Tensor& y, const Tensor& zxbcdt, const Tensor& norm_w,
                        const MambaDims& dims, bool norm_before_gate, float eps, Tensor* out,
                        const Stream& stream) {
  return no_cuda("mamba_gated_norm");
}

Status apply_rotary_qk(Tensor* q, Tensor* k, const Tensor& cos, const Tensor& sin,
                       const Stream& stream) {
  return no_cuda("apply_rotary_qk");
}

StatusOr<int64_t> argmax(const Tensor& logits, const Stream& stream) { return no_cuda("argmax"); }

StatusOr<std::vector<int64_t>> argmax_rows(const Tensor& logits, const Stream& stream) {
  return no_cuda("argmax_rows");
}

Status top_k(const Tensor& logits, int64_t k, std::vector<float>* values, std::vector<int64_t>* ids,
             const Stream& stream) {
  return no_cuda("top_k");
}

StatusOr<int64_t> sample(const Tensor& logits, const SamplingParams& params, double u,
                         const Stream& stream) {
  return no_cuda("sample");
}

Status kv_fp8_append(const Tensor&, int64_t, int64_t, Tensor*, Tensor*, const Stream&) {
  return no_cuda("kv_fp8_append");
}

Status kv_fp8_dequantize(const Tensor&, const Tensor&, int64_t, int64_t, Tensor*, const Stream&) {
  return no_cuda("kv_fp8_dequantize");
}

}  // namespace vamba::ops::cuda_backend
