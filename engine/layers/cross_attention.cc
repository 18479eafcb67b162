#include "engine/layers/cross_attention.h"

#include "engine/ops/attention.h"

namespace vamba {

StatusOr<CrossAttention> CrossAttention::load(const WeightLoader& loader, const std::string& prefix,
                                              int64_t num_heads, int64_t num_kv_heads) {
  CrossAttention a;
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

Status CrossAttention::project_video(const Tensor& video, KvBuffer* video_kv,
                                     const Stream& stream) const {
  const int64_t m = video.dim(0);
  Tensor k, v;  // (m, Hkv·D)
  VAMBA_RETURN_IF_ERROR(k_.forward(video, &k, stream));
  VAMBA_RETURN_IF_ERROR(v_.forward(video, &v, stream));
  VAMBA_ASSIGN_OR_RETURN(k, k.reshape({m, num_kv_heads_, head_dim_}));
  VAMBA_ASSIGN_OR_RETURN(v, v.reshape({m, num_kv_heads_, head_dim_}));
  return video_kv->append(k, v, stream);
}

Status CrossAttention::forward(const Tensor& x, const KvBuffer& video_kv, Tensor* out,
                               const Stream& stream) const {
  const int64_t n = x.dim(0);
  Tensor q;  // (n, H·D)
  VAMBA_RETURN_IF_ERROR(q_.forward(x, &q, stream));
  VAMBA_ASSIGN_OR_RETURN(q, q.reshape({n, num_heads_, head_dim_}));
  VAMBA_ASSIGN_OR_RETURN(Tensor k, video_kv.keys());
  VAMBA_ASSIGN_OR_RETURN(Tensor v, video_kv.values());
  Tensor attn;  // (n, H, D)
  VAMBA_RETURN_IF_ERROR(ops::cross_attention(q, k, v, 0.0f, &attn, stream));
  VAMBA_ASSIGN_OR_RETURN(attn, attn.reshape({n, num_heads_ * head_dim_}));
  return o_.forward(attn, out, stream);
}

}  // namespace vamba
