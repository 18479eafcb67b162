// Vamba's cross-attention from the text to the video tokens of the same layer: queries from the
// normed text, keys/values projected from the video states v_l (not normed when
// cross_attn_use_layer_norm is false, no rotary when cross_attn_use_position_embeddings is false),
// no mask, grouped-query heads, scale 1/sqrt(head_dim). The video K/V are projected once per video
// (project_video) and reused by every question and decode step.
#pragma once

#include <vector>

#include "engine/layers/linear.h"
#include "engine/state/kv_buffer.h"

namespace vamba {

class CrossAttention {
 public:
  CrossAttention() = default;
  // "<prefix>.{q,k,v,o}_proj" (q/k/v with bias, o without).
  static StatusOr<CrossAttention> load(const WeightLoader& loader, const std::string& prefix,
                                       int64_t num_heads, int64_t num_kv_heads);

  // video: (m, hidden), the layer's video states v_l for m new tokens; appends their keys and
  // values to `video_kv`.
  Status project_video(const Tensor& video, KvBuffer* video_kv, const Stream& stream) const;

  // x: (n, hidden) normed text; attends to every token in video_kv. out: (n, hidden).
  Status forward(const Tensor& x, const KvBuffer& video_kv, Tensor* out,
                 const Stream& stream) const;

  // One decode step of B sequences: x (B, hidden), row b attending to video_kvs[b]. The q
  // projection runs once over all rows; consecutive rows over the same video attend in one call
  // (queries are independent: no mask), others separately. A video with no tokens gives 0.
  // attn: (B, H·D), before the output projection (o_proj(), fused by the model with the
  // self-attention's and the residual blend).
  Status attend_batch(const Tensor& x, const std::vector<const KvBuffer*>& video_kvs, Tensor* attn,
                      const Stream& stream) const;
  const Linear& o_proj() const { return o_; }

  int64_t num_kv_heads() const { return num_kv_heads_; }
  int64_t head_dim() const { return head_dim_; }

 private:
  Linear q_, k_, v_, o_;
  int64_t num_heads_ = 0;
  int64_t num_kv_heads_ = 0;
  int64_t head_dim_ = 0;
};

}  // namespace vamba
