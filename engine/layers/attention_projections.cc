#include "engine/layers/attention_projections.h"

namespace vamba {

StatusOr<int64_t> load_attention_projections(const WeightLoader& loader, const std::string& prefix,
                                             int64_t num_heads, int64_t num_kv_heads, Linear* q,
                                             Linear* k, Linear* v, Linear* o) {
  VAMBA_ASSIGN_OR_RETURN(*q, Linear::load(loader, prefix + ".q_proj", true));
  VAMBA_ASSIGN_OR_RETURN(*k, Linear::load(loader, prefix + ".k_proj", true));
  VAMBA_ASSIGN_OR_RETURN(*v, Linear::load(loader, prefix + ".v_proj", true));
  VAMBA_ASSIGN_OR_RETURN(*o, Linear::load(loader, prefix + ".o_proj", false));
  const int64_t head_dim = q->out_features() / num_heads;
  if (head_dim * num_heads != q->out_features() || k->out_features() != num_kv_heads * head_dim) {
    return invalid_argument(prefix + ": projection widths do not match " +
                            std::to_string(num_heads) + " query / " + std::to_string(num_kv_heads) +
                            " key-value heads");
  }
  return head_dim;
}

}  // namespace vamba
