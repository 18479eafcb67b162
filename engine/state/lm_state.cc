#include "engine/state/lm_state.h"

namespace vamba {

size_t VideoState::bytes() const {
  size_t b = 0;
  for (const auto& kv : cross_kv) b += kv.bytes();
  for (const auto& m : mamba) {
    if (m.conv.defined()) b += m.conv.nbytes();
    if (m.ssm.defined()) b += m.ssm.nbytes();
  }
  return b;
}

size_t TextState::bytes() const {
  size_t b = 0;
  for (const auto& l : kv) b += l.bytes();
  return b;
}

}  // namespace vamba
