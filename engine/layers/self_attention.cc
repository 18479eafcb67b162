#include "engine/layers/self_attention.h"

#include "engine/ops/attention.h"

namespace vamba {

StatusOr<SelfAttention> SelfAttention::load(const WeightLoader& loader, const std::string& prefix,
                                            int64_t num_heads, int64_t num_kv_heads) {
  SelfAttention a;
  VAMBA_ASSIGN_OR_RETURN(a.q_, Linear::load(loader, prefix + ".q_proj", true));
  VAMBA_ASSIGN_OR_RETURN(a.k_, Linear::load(loader, prefix + ".k_proj", true));
  VAMBA_ASSIGN_OR_RETURN(a.v_, Linear::load(loader, prefix + ".v_proj", true));
  VAMBA_ASSIGN_OR_RETURN(a.o_, Linear::load(loader, prefix + ".o_proj", false));
  a.num_heads_ = num_heads;
  a.num_kv_heads_ = num_kv_heads;
  a.head_dim_ = a.q_.out_features() / num_heads;
  if (a.head_dim_ * num_heads != a.q_.out_features() ||
      a.k_.out_features() != num_kv_heads * a.head_dim_) {
    return invalid_argument(prefix + ": projection widths do not match " +
                            std::to_string(num_heads) + " query / " + std::to_string(num_kv_heads) +
                            " key-value heads");
  }
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

}  // namespace vamba
