// Qwen2-VL's causal self-attention: q/k/v projections with bias, o without; M-RoPE on q and k;
// grouped-query heads; keys and values appended to the layer's text KV cache.
#pragma once

#include <vector>

#include "engine/layers/linear.h"
#include "engine/ops/rope.h"
#include "engine/state/kv_buffer.h"

namespace vamba {

class SelfAttention {
 public:
  SelfAttention() = default;
  // "<prefix>.{q,k,v,o}_proj".
  static StatusOr<SelfAttention> load(const WeightLoader& loader, const std::string& prefix,
                                      int64_t num_heads, int64_t num_kv_heads);

  // x: (n, hidden), the normed text of positions [cache->length(), … + n); rope: tables for those
  // positions. Appends this call's keys/values to `cache` and attends causally over everything in
  // it. out: (n, hidden).
  Status forward(const Tensor& x, const ops::RopeTables& rope, KvBuffer* cache, Tensor* out,
                 const Stream& stream) const;

  // One decode step of B independent sequences: x (B, hidden) holds one normed token per sequence,
  // rope the tables of each row's own position, caches[b] sequence b's cache. The q/k/v projection
  // runs once over all B rows (the weights are read once for the batch); each row's key/value is
  // appended to its own cache and attends to it. attn: (B, H·D), before the output projection,
  // which the model fuses with the cross-attention's and the residual blend
  // (ops::linear_pair_residual over o_proj()).
  Status decode_batch_attend(const Tensor& x, const ops::RopeTables& rope,
                             const std::vector<KvBuffer*>& caches, Tensor* attn,
                             const Stream& stream) const;
  const Linear& o_proj() const { return o_; }

  int64_t num_heads() const { return num_heads_; }
  int64_t num_kv_heads() const { return num_kv_heads_; }
  int64_t head_dim() const { return head_dim_; }

 private:
  Linear q_, k_, v_, o_;  // q_, k_, v_: views of qkv_'s weight
  FusedLinear qkv_;       // the decode step's one product for q, k and v
  int64_t num_heads_ = 0;
  int64_t num_kv_heads_ = 0;
  int64_t head_dim_ = 0;
};

}  // namespace vamba
