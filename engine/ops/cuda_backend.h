// The CUDA side of every tensor-level op: the same signatures as the ops in engine/ops/*.h.
//
// Contract: the op layer (engine/ops/*.cc) calls these only for CUDA tensors and only after it has
// validated every shape, dtype and device and allocated every output (outputs are defined, with the
// documented shape, dtype and device). A backend function only launches work on `stream`
// (stream.handle() is the cudaStream_t) and turns CUDA errors into a Status. Functions that return
// host values (argmax, top_k, sample) synchronise the stream.
//
// Implemented in engine/ops/*_cuda.cc (CUDA builds). CPU-only builds link
// engine/ops/cuda_backend_nocuda.cc, where each answers FAILED_PRECONDITION "built without CUDA".
//
// dtypes on CUDA (all tensors contiguous, row-major; shapes as in the op headers):
//   activations and weights: bf16 (weights exactly as the checkpoint stores them);
//   Mamba conv_state, ssm_state, dt, A, D, dt_bias: f32;  rotary cos/sin: f32;
//   token ids: i64 on the device;  linear's y may be f32 (logits).
// Reference for each function: kernels/reference/<family>.h; parity tests compare against the CPU
// op on the same (bf16-rounded) inputs.
#pragma once

#include <vector>

#include "engine/ops/ops.h"

namespace vamba::ops::cuda_backend {

// --- linear.h ---------------------------------------------------------------------------------
// x (..., K) bf16; w (N, K) bf16; bias (N) bf16 or undefined; y (..., N) bf16 or f32.
Status linear(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor* y,
              const Stream& stream);
// The fused decode forms (one launch): *done = false when the shape is not a decode shape or the
// kernel cannot run it, and the op falls back to separate products.
Status linear_split_fused(const Tensor& x, const Tensor& w, const Tensor& bias,
                          const std::vector<int64_t>& widths, std::vector<Tensor>* ys, bool* done,
                          const Stream& stream);
Status linear_swiglu_fused(const Tensor& x, const Tensor& w_gate, const Tensor& w_up, Tensor* y,
                           bool* done, const Stream& stream);
Status linear_pair_residual_fused(const Tensor& x, const Tensor& w, const Tensor& x2,
                                  const Tensor& w2, float alpha, float alpha2, Tensor* h,
                                  bool* done, const Stream& stream);

// --- norm.h -----------------------------------------------------------------------------------
// x, y (..., dim) bf16; w (dim) bf16. Statistics in f32.
Status rms_norm(const Tensor& x, const Tensor& w, float eps, Tensor* y, const Stream& stream);
// residual (..., dim) bf16 in/out: residual += x, then y = rms_norm(residual).
Status add_rms_norm(Tensor* residual, const Tensor& x, const Tensor& w, float eps, Tensor* y,
                    const Stream& stream);
// b may be undefined.
Status layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, float eps, Tensor* y,
                  const Stream& stream);

// --- activation.h -----------------------------------------------------------------------------
// Elementwise, bf16 in and out (math in f32); outputs may alias inputs.
Status silu_mul(const Tensor& gate, const Tensor& up, Tensor* y, const Stream& stream);
Status quick_gelu(const Tensor& x, Tensor* y, const Stream& stream);
Status gelu(const Tensor& x, Tensor* y, const Stream& stream);
Status add(const Tensor& a, const Tensor& b, Tensor* y, const Stream& stream);
Status residual_blend(Tensor* h, const Tensor& s, const Tensor& c, float alpha_s, float alpha_c,
                      const Stream& stream);
// f32 <-> bf16 on the device (kernels/elementwise/cast.h). Equal dtypes never reach the backend.
Status cast(const Tensor& x, DType dtype, Tensor* y, const Stream& stream);

// --- embedding.h ------------------------------------------------------------------------------
// table (V, D) bf16; ids (n) i64 on the device; out (n, D) bf16; a bad id gives a zero row.
Status embedding(const Tensor& table, const Tensor& ids, Tensor* out, const Stream& stream);

// --- rope.h -----------------------------------------------------------------------------------
// x (n, H, D) bf16 in place; cos, sin (n, D/2) f32.
Status apply_rotary(Tensor* x, const Tensor& cos, const Tensor& sin, const Stream& stream);
// q (n, Hq, D) and k (n, Hk, D) in one launch.
Status apply_rotary_qk(Tensor* q, Tensor* k, const Tensor& cos, const Tensor& sin,
                       const Stream& stream);

// --- attention.h ------------------------------------------------------------------------------
// q (n_q, Hq, D), k/v (n_k, Hkv, D), out (n_q, Hq, D), all bf16. options.scale is already resolved
// (never 0 here); options.cu_seqlens is a host vector (upload it, or pass it by value).
Status attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& options,
                 Tensor* out, const Stream& stream);
// Few queries over many keys, non-causal.
Status cross_attention(const Tensor& q, const Tensor& k, const Tensor& v, float scale, Tensor* out,
                       const Stream& stream);
// k_cache/v_cache (capacity, Hkv, D); the first kv_len rows valid; query i at kv_len − n_q + i.
Status decode_attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                        int64_t kv_len, float scale, Tensor* out, const Stream& stream);

// q (B, Hq, D); caches (capacity, Hkv, D) each; new_k/new_v (B, Hkv, D) or both undefined.
// fp8 video store, few-row kernel only (*ran false where it does not take the shape).
Status cross_attention_fp8(const Tensor& q, const Tensor& k_codes, const Tensor& v_codes,
                           const Tensor& k_scales, const Tensor& v_scales, int64_t kv_len,
                           float scale, Tensor* out, const Stream& stream, bool* ran);
Status decode_attention_batch(const Tensor& q, const std::vector<Tensor>& k_caches,
                              const std::vector<Tensor>& v_caches,
                              const std::vector<int64_t>& kv_lens, const Tensor& new_k,
                              const Tensor& new_v, float scale, Tensor* out, const Stream& stream);

// --- mamba.h ----------------------------------------------------------------------------------
// zxbcdt (L, in_proj_dim) bf16; conv_w (conv_dim, W) bf16; conv_b (conv_dim) bf16 or undefined;
// conv_state (W−1, conv_dim) f32 or null; xbc (L, conv_dim) bf16.
Status mamba_conv(const Tensor& zxbcdt, const Tensor& conv_w, const Tensor& conv_b,
                  const MambaDims& dims, Tensor* conv_state, Tensor* xbc, const Stream& stream);
// dt_bias (H) f32; dt (L, H) f32.
Status mamba_dt(const Tensor& zxbcdt, const Tensor& dt_bias, const MambaDims& dims, float dt_min,
                float dt_max, Tensor* dt, const Stream& stream);
// xbc (L, conv_dim) bf16; dt (L, H) f32; A (H) f32; D (H) f32 or undefined;
// ssm_state (H, P, N) f32 or null; y (L, d_inner) bf16.
Status ssd_scan(const Tensor& xbc, const Tensor& dt, const Tensor& A, const Tensor& D,
                const MambaDims& dims, Tensor* ssm_state, Tensor* y, const Stream& stream);
// y (L, d_inner) bf16; z = zxbcdt[:, :d_inner]; norm_w (d_inner) bf16; out (L, d_inner) bf16.
Status mamba_gated_norm(const Tensor& y, const Tensor& zxbcdt, const Tensor& norm_w,
                        const MambaDims& dims, bool norm_before_gate, float eps, Tensor* out,
                        const Stream& stream);

// --- sampling.h -------------------------------------------------------------------------------
// logits (V) bf16 or f32 on the device.
StatusOr<int64_t> argmax(const Tensor& logits, const Stream& stream);
// logits (B, V): one id per row.
StatusOr<std::vector<int64_t>> argmax_rows(const Tensor& logits, const Stream& stream);
Status top_k(const Tensor& logits, int64_t k, std::vector<float>* values, std::vector<int64_t>* ids,
             const Stream& stream);
StatusOr<int64_t> sample(const Tensor& logits, const SamplingParams& params, double u,
                         const Stream& stream);

// --- kv_quant.h -------------------------------------------------------------------------------
// src (n, heads, head_dim) bf16; data u8, scales f32 (kernels/quant/kv_fp8.h); out bf16.
Status kv_fp8_append(const Tensor& src, int64_t start, int64_t block, Tensor* data, Tensor* scales,
                     const Stream& stream);
Status kv_fp8_dequantize(const Tensor& data, const Tensor& scales, int64_t rows, int64_t block,
                         Tensor* out, const Stream& stream);

}  // namespace vamba::ops::cuda_backend
