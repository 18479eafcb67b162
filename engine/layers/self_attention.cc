#include "engine/layers/self_attention.h"

#include "engine/layers/attention_projections.h"
#include "engine/ops/attention.h"

namespace vamba {

StatusOr<SelfAttention> SelfAttention::load(const WeightLoader& loader, const std::string& prefix,
                                            int64_t num_heads, int64_t num_kv_heads) {
  SelfAttention a;
  VAMBA_ASSIGN_OR_RETURN(
      a.head_dim_, load_attention_projections(loader, prefix, num_heads, num_kv_heads, &a.q_, &a.k_,
                                              &a.v_, &a.o_));
  VAMBA_ASSIGN_OR_RETURN(a.qkv_, fuse_linears({&a.q_, &a.k_, &a.v_}, loader.stream()));
  a.num_heads_ = num_heads;
  a.num_kv_heads_ = num_kv_heads;
  return a;
}

Status SelfAttention::forward(const Tensor& x, const ops::RopeTables& rope, KvBuffer* cache,
                              Tensor* out, const Stream& stream) const {
  const int64_t n = x.dim(0);
  Tensor q, k, v;  // (n, H·D), (n, Hkv·D), (n, Hkv·D)
  VAMBA_RETURN_IF_ERROR(q_.forward(x, &q, stream));
  VAMBA_RETURN_IF_ERROR(k_.forward(x, &k, stream));
  VAMBA_RETURN_IF_ERROR(v_.forward(x, &v, stream));
  VAMBA_ASSIGN_OR_RETURN(q, q.reshape({n, num_heads_, head_dim_}));
  VAMBA_ASSIGN_OR_RETURN(k, k.reshape({n, num_kv_heads_, head_dim_}));
  VAMBA_ASSIGN_OR_RETURN(v, v.reshape({n, num_kv_heads_, head_dim_}));
  VAMBA_RETURN_IF_ERROR(ops::apply_rotary(&q, rope.cos, rope.sin, stream));
  VAMBA_RETURN_IF_ERROR(ops::apply_rotary(&k, rope.cos, rope.sin, stream));

  Tensor attn;  // (n, H, D)
  const int64_t past = cache->length();
  VAMBA_RETURN_IF_ERROR(cache->append(k, v, stream));
  if (past == 0) {
    // Fresh sequence: plain causal attention over this call's keys.
    ops::AttentionOptions opt;
    opt.causal = true;
    VAMBA_RETURN_IF_ERROR(ops::attention(q, k, v, opt, &attn, stream));
  } else {
    VAMBA_RETURN_IF_ERROR(ops::decode_attention(q, cache->key_storage(), cache->value_storage(),
                                                cache->length(), 0.0f, &attn, stream));
  }
  VAMBA_ASSIGN_OR_RETURN(attn, attn.reshape({n, num_heads_ * head_dim_}));
  return o_.forward(attn, out, stream);
}

Status SelfAttention::decode_batch_attend(const Tensor& x, const ops::RopeTables& rope,
                                          const std::vector<KvBuffer*>& caches, Tensor* attn_out,
                                          const Stream& stream) const {
  const int64_t b = x.dim(0);
  if (static_cast<int64_t>(caches.size()) != b) {
    return invalid_argument("self-attention decode: " + std::to_string(b) + " rows but " +
                            std::to_string(caches.size()) + " caches");
  }
  std::vector<Tensor> qkv;
  VAMBA_RETURN_IF_ERROR(qkv_.forward(x, &qkv, stream));
  Tensor q, k, v;
  VAMBA_ASSIGN_OR_RETURN(q, qkv[0].reshape({b, num_heads_, head_dim_}));
  VAMBA_ASSIGN_OR_RETURN(k, qkv[1].reshape({b, num_kv_heads_, head_dim_}));
  VAMBA_ASSIGN_OR_RETURN(v, qkv[2].reshape({b, num_kv_heads_, head_dim_}));
  VAMBA_RETURN_IF_ERROR(ops::apply_rotary_qk(&q, &k, rope.cos, rope.sin, stream));

  // Each cache grows by one row, which the batched attention fills with the sequence's new key
  // and value before attending (append and attention in one launch for the whole batch).
  std::vector<Tensor> k_caches, v_caches;
  std::vector<int64_t> lens;
  for (int64_t i = 0; i < b; ++i) {
    KvBuffer* cache = caches[i];
    if (cache == nullptr) return invalid_argument("self-attention decode: null cache");
    VAMBA_RETURN_IF_ERROR(cache->extend(1, stream));
    k_caches.push_back(cache->key_storage());
    v_caches.push_back(cache->value_storage());
    lens.push_back(cache->length());
  }
  Tensor attn;  // (B, H, D)
  VAMBA_RETURN_IF_ERROR(
      ops::decode_attention_batch(q, k_caches, v_caches, lens, k, v, 0.0f, &attn, stream));
  VAMBA_ASSIGN_OR_RETURN(*attn_out, attn.reshape({b, num_heads_ * head_dim_}));
  return ok_status();
}

}  // namespace vamba
