#include "engine/ops/attention.h"

#include <cmath>

#include "engine/ops/cuda_backend.h"
#include "kernels/reference/attention.h"

namespace vamba::ops {
namespace {

// Checks q (n_q, Hq, D) and k, v (n_k, Hkv, D) and prepares out (n_q, Hq, D).
Status check_qkv(const char* op, const Tensor& q, const Tensor& k, const Tensor& v, Tensor* out) {
  const Device dev = q.device();
  const DType act = activation_dtype(dev);
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "q", q, 3, act, dev));
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "k", k, 3, act, dev));
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "v", v, 3, act, dev));
  if (k.shape() != v.shape()) return detail::bad(op, "v", "k's shape", v);
  VAMBA_RETURN_IF_ERROR(detail::expect_dim(op, "k", k, 2, q.dim(2)));
  if (k.dim(1) == 0 || q.dim(1) % k.dim(1) != 0) {
    return detail::bad(op, "k", "with a head count dividing q's (" + std::to_string(q.dim(1)) + ")",
                       k);
  }
  return detail::prepare_output(op, "out", out, q.shape(), act, dev);
}

float resolve_scale(float scale, int64_t head_dim) {
  return scale != 0.0f ? scale : 1.0f / std::sqrt(static_cast<float>(head_dim));
}

kernels::reference::AttentionParams params_of(const Tensor& q, const Tensor& k, int64_t n_k,
                                              float scale) {
  kernels::reference::AttentionParams p;
  p.n_q = q.dim(0);
  p.n_k = n_k;
  p.num_heads = q.dim(1);
  p.num_kv_heads = k.dim(1);
  p.head_dim = q.dim(2);
  p.scale = scale;
  return p;
}

}  // namespace

Status attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& options,
                 Tensor* out, const Stream& stream) {
  constexpr const char* op = "attention";
  VAMBA_RETURN_IF_ERROR(check_qkv(op, q, k, v, out));
  if (!options.cu_seqlens.empty()) {
    const auto& cu = options.cu_seqlens;
    bool ok = q.dim(0) == k.dim(0) && cu.size() >= 2 && cu.front() == 0 && cu.back() == q.dim(0);
    for (size_t i = 1; ok && i < cu.size(); ++i) ok = cu[i] >= cu[i - 1];
    if (!ok) {
      return invalid_argument(
          "attention: cu_seqlens must ascend from 0 to n_q, with n_q == n_k (self-attention)");
    }
  }
  AttentionOptions resolved = options;
  resolved.scale = resolve_scale(options.scale, q.dim(2));
  if (q.is_cuda()) return cuda_backend::attention(q, k, v, resolved, out, stream);
  auto p = params_of(q, k, k.dim(0), resolved.scale);
  p.causal = options.causal;
  p.q_offset = options.q_offset;
  if (!options.cu_seqlens.empty()) {
    p.cu_seqlens = options.cu_seqlens.data();
    p.num_segments = static_cast<int64_t>(options.cu_seqlens.size()) - 1;
  }
  kernels::reference::attention(q.data<float>(), k.data<float>(), v.data<float>(),
                                out->data<float>(), p);
  return ok_status();
}

Status cross_attention(const Tensor& q, const Tensor& k, const Tensor& v, float scale, Tensor* out,
                       const Stream& stream) {
  constexpr const char* op = "cross_attention";
  VAMBA_RETURN_IF_ERROR(check_qkv(op, q, k, v, out));
  scale = resolve_scale(scale, q.dim(2));
  if (q.is_cuda()) return cuda_backend::cross_attention(q, k, v, scale, out, stream);
  const auto p = params_of(q, k, k.dim(0), scale);
  kernels::reference::attention(q.data<float>(), k.data<float>(), v.data<float>(),
                                out->data<float>(), p);
  return ok_status();
}

Status decode_attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                        int64_t kv_len, float scale, Tensor* out, const Stream& stream) {
  constexpr const char* op = "decode_attention";
  VAMBA_RETURN_IF_ERROR(check_qkv(op, q, k_cache, v_cache, out));
  if (kv_len < q.dim(0) || kv_len > k_cache.dim(0)) {
    return invalid_argument("decode_attention: kv_len " + std::to_string(kv_len) +
                            " must be within [n_q, capacity] = [" + std::to_string(q.dim(0)) +
                            ", " + std::to_string(k_cache.dim(0)) + "]");
  }
  scale = resolve_scale(scale, q.dim(2));
  if (q.is_cuda()) {
    return cuda_backend::decode_attention(q, k_cache, v_cache, kv_len, scale, out, stream);
  }
  auto p = params_of(q, k_cache, kv_len, scale);
  p.causal = true;
  p.q_offset = kv_len - q.dim(0);
  kernels::reference::attention(q.data<float>(), k_cache.data<float>(), v_cache.data<float>(),
                                out->data<float>(), p);
  return ok_status();
}

}  // namespace vamba::ops
