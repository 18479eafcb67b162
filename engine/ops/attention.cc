#include "engine/ops/attention.h"

#include <cmath>

#include "engine/ops/cuda_backend.h"
#include "engine/state/kv_store.h"
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

Status cross_attention_fp8(const Tensor& q, const Tensor& k_codes, const Tensor& v_codes,
                           const Tensor& k_scales, const Tensor& v_scales, int64_t kv_len,
                           float scale, Tensor* out, const Stream& stream, bool* ran) {
  constexpr const char* op = "cross_attention_fp8";
  if (ran == nullptr || out == nullptr) return detail::null_arg(op, "ran/out");
  *ran = false;
  if (!q.is_cuda()) return ok_status();  // the caller's dequantized path is the CPU one
  const Device dev = q.device();
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "q", q, 3, DType::kBF16, dev));
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "k_codes", k_codes, 3, DType::kU8, dev));
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "v_codes", v_codes, 3, DType::kU8, dev));
  if (v_codes.shape() != k_codes.shape() || k_codes.dim(2) != q.dim(2) || k_codes.dim(1) < 1 ||
      q.dim(1) % k_codes.dim(1) != 0) {
    return detail::bad(op, "k_codes/v_codes", "(capacity, Hkv, D) matching q's heads", k_codes);
  }
  if (kv_len < 0 || kv_len > k_codes.dim(0)) {
    return invalid_argument("cross_attention_fp8: kv_len outside the codes' capacity");
  }
  const int64_t blocks = (k_codes.dim(0) + kFp8KvBlockTokens - 1) / kFp8KvBlockTokens;
  for (const auto& [name, t] :
       {std::pair<const char*, const Tensor*>{"k_scales", &k_scales}, {"v_scales", &v_scales}}) {
    VAMBA_RETURN_IF_ERROR(detail::expect(op, name, *t, 2, DType::kF32, dev));
    if (t->dim(0) < blocks || t->dim(1) != k_codes.dim(1)) {
      return detail::bad(op, name, "(ceil(capacity / 64), Hkv)", *t);
    }
  }
  VAMBA_RETURN_IF_ERROR(detail::prepare_output(op, "out", out, q.shape(), DType::kBF16, dev));
  scale = resolve_scale(scale, q.dim(2));
  return cuda_backend::cross_attention_fp8(q, k_codes, v_codes, k_scales, v_scales, kv_len, scale,
                                           out, stream, ran);
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

Status decode_attention_batch(const Tensor& q, const std::vector<Tensor>& k_caches,
                              const std::vector<Tensor>& v_caches,
                              const std::vector<int64_t>& kv_lens, const Tensor& new_k,
                              const Tensor& new_v, float scale, Tensor* out, const Stream& stream) {
  constexpr const char* op = "decode_attention_batch";
  const Device dev = q.device();
  const DType act = activation_dtype(dev);
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "q", q, 3, act, dev));
  const int64_t b = q.dim(0);
  if (static_cast<int64_t>(k_caches.size()) != b || static_cast<int64_t>(v_caches.size()) != b ||
      static_cast<int64_t>(kv_lens.size()) != b) {
    return invalid_argument("decode_attention_batch: " + std::to_string(b) +
                            " queries need as many caches and lengths");
  }
  if (new_k.defined() != new_v.defined()) {
    return invalid_argument("decode_attention_batch: new_k and new_v go together");
  }
  for (int64_t i = 0; i < b; ++i) {
    const Tensor& k = k_caches[i];
    const Tensor& v = v_caches[i];
    VAMBA_RETURN_IF_ERROR(detail::expect(op, "k_cache", k, 3, act, dev));
    VAMBA_RETURN_IF_ERROR(detail::expect(op, "v_cache", v, 3, act, dev));
    if (k.shape() != v.shape()) return detail::bad(op, "v_cache", "k_cache's shape", v);
    VAMBA_RETURN_IF_ERROR(detail::expect_dim(op, "k_cache", k, 2, q.dim(2)));
    if (k.dim(1) != k_caches[0].dim(1) || k.dim(1) == 0 || q.dim(1) % k.dim(1) != 0) {
      return detail::bad(op, "k_cache", "with one head count dividing q's", k);
    }
    if (kv_lens[i] < 1 || kv_lens[i] > k.dim(0)) {
      return invalid_argument("decode_attention_batch: kv_len " + std::to_string(kv_lens[i]) +
                              " of sequence " + std::to_string(i) + " outside [1, capacity " +
                              std::to_string(k.dim(0)) + "]");
    }
  }
  const int64_t hkv = k_caches.empty() ? 0 : k_caches[0].dim(1);
  if (new_k.defined()) {
    VAMBA_RETURN_IF_ERROR(detail::expect(op, "new_k", new_k, 3, act, dev));
    const Shape want = {b, hkv, q.dim(2)};
    if (new_k.shape() != want) return detail::bad(op, "new_k", "(B, Hkv, D)", new_k);
    if (new_v.shape() != want) return detail::bad(op, "new_v", "(B, Hkv, D)", new_v);
  }
  VAMBA_RETURN_IF_ERROR(detail::prepare_output(op, "out", out, q.shape(), act, dev));
  if (b == 0) return ok_status();
  scale = resolve_scale(scale, q.dim(2));
  if (q.is_cuda()) {
    return cuda_backend::decode_attention_batch(q, k_caches, v_caches, kv_lens, new_k, new_v, scale,
                                                out, stream);
  }
  // CPU: store each new row, then attend sequence by sequence.
  for (int64_t i = 0; i < b; ++i) {
    if (new_k.defined()) {
      for (const auto& [src, dst] :
           {std::pair{&new_k, &k_caches[i]}, std::pair{&new_v, &v_caches[i]}}) {
        VAMBA_ASSIGN_OR_RETURN(Tensor row, src->slice_rows(i, i + 1));
        VAMBA_ASSIGN_OR_RETURN(Tensor slot, dst->slice_rows(kv_lens[i] - 1, kv_lens[i]));
        VAMBA_RETURN_IF_ERROR(slot.copy_from(row, &stream));
      }
    }
    VAMBA_ASSIGN_OR_RETURN(Tensor qi, q.slice_rows(i, i + 1));
    VAMBA_ASSIGN_OR_RETURN(Tensor oi, out->slice_rows(i, i + 1));
    const auto p = params_of(qi, k_caches[i], kv_lens[i], scale);
    kernels::reference::attention(qi.data<float>(), k_caches[i].data<float>(),
                                  v_caches[i].data<float>(), oi.data<float>(), p);
  }
  return ok_status();
}

}  // namespace vamba::ops
