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
  // Views of the cache, or for an fp8 store the rows dequantized into temporaries (freed in
  // stream order, after the attention that reads them).
  Tensor k, v;
  VAMBA_RETURN_IF_ERROR(video_kv.read(&k, &v, stream));
  Tensor attn;  // (n, H, D)
  VAMBA_RETURN_IF_ERROR(ops::cross_attention(q, k, v, 0.0f, &attn, stream));
  VAMBA_ASSIGN_OR_RETURN(attn, attn.reshape({n, num_heads_ * head_dim_}));
  return o_.forward(attn, out, stream);
}

Status CrossAttention::attend_batch(const Tensor& x, const std::vector<const KvBuffer*>& video_kvs,
                                    Tensor* attn_out, const Stream& stream) const {
  const int64_t b = x.dim(0);
  if (static_cast<int64_t>(video_kvs.size()) != b) {
    return invalid_argument("cross-attention batch: " + std::to_string(b) + " rows but " +
                            std::to_string(video_kvs.size()) + " videos");
  }
  Tensor q;
  VAMBA_RETURN_IF_ERROR(q_.forward(x, &q, stream));
  VAMBA_ASSIGN_OR_RETURN(q, q.reshape({b, num_heads_, head_dim_}));
  VAMBA_ASSIGN_OR_RETURN(Tensor attn,
                         Tensor::empty({b, num_heads_, head_dim_}, q.dtype(), q.device()));
  for (int64_t begin = 0; begin < b;) {
    const KvBuffer* kv = video_kvs[begin];
    if (kv == nullptr) return invalid_argument("cross-attention batch: null video");
    int64_t end = begin + 1;
    while (end < b && video_kvs[end] == kv) ++end;
    VAMBA_ASSIGN_OR_RETURN(Tensor q_run, q.slice_rows(begin, end));
    VAMBA_ASSIGN_OR_RETURN(Tensor o_run, attn.slice_rows(begin, end));
    if (kv->length() == 0) {
      VAMBA_ASSIGN_OR_RETURN(Tensor zeros,
                             Tensor::zeros(o_run.shape(), o_run.dtype(), o_run.device(), &stream));
      VAMBA_RETURN_IF_ERROR(o_run.copy_from(zeros, &stream));
    } else {
      // An fp8 store is read in place by the few-row kernel (codes and block scales) where it
      // takes the shape; otherwise, and on the CPU, the rows are dequantized first.
      bool ran = false;
      if (kv->store() == KvStore::kFp8E4M3) {
        VAMBA_RETURN_IF_ERROR(ops::cross_attention_fp8(
            q_run, kv->key_storage(), kv->value_storage(), kv->key_scales(), kv->value_scales(),
            kv->length(), 0.0f, &o_run, stream, &ran));
      }
      if (!ran) {
        Tensor k, v;
        VAMBA_RETURN_IF_ERROR(kv->read(&k, &v, stream));
        VAMBA_RETURN_IF_ERROR(ops::cross_attention(q_run, k, v, 0.0f, &o_run, stream));
      }
    }
    begin = end;
  }
  VAMBA_ASSIGN_OR_RETURN(*attn_out, attn.reshape({b, num_heads_ * head_dim_}));
  return ok_status();
}

}  // namespace vamba
