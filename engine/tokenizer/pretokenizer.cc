#include "engine/tokenizer/pretokenizer.h"

namespace vamba::tok {

void split_qwen2(std::string_view text, std::vector<PieceSpan>* out) {
  out->clear();
  for_each_qwen2_piece(text, [&](size_t begin, size_t end) { out->push_back({begin, end}); });
}

}  // namespace vamba::tok
