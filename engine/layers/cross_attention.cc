#include "engine/layers/cross_attention.h"

#include "engine/layers/attention_projections.h"
#include "engine/ops/attention.h"

namespace vamba {

StatusOr<CrossAttention> CrossAttention::load(const WeightLoader& loader, const std::string& prefix,
                                              int64_t num_heads, int64_t num_kv_heads) {
  CrossAttention a;
  VAMBA_ASSIGN_OR_RETURN(
      a.head_dim_, load_attention_projections(loader, prefix, num_heads, num_kv_heads, &a.q_, &a.k_,
                                              &a.v_, &a.o_));
  a.num_heads_ = num_heads;
  a.num_kv_heads_ = num_kv_heads;
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
