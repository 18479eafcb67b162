#include "engine/tokenizer/streaming_decoder.h"

#include "engine/tokenizer/utf8.h"

namespace vamba {

std::string StreamingDecoder::push(int32_t id) {
  std::string out;
  push(id, &out);
  return out;
}

void StreamingDecoder::push(int32_t id, std::string* out) {
  if (!tokenizer_->is_known(id)) return;
  if (skip_special_tokens_ && tokenizer_->is_special(id)) return;
  pending_ += tokenizer_->token_bytes(id);
  // Emit up to the start of a trailing character that is well-formed so far but incomplete; the
  // lossy conversion restarts there exactly as it would on the whole text, so pieces concatenate
  // to the full decode.
  const auto* p = reinterpret_cast<const uint8_t*>(pending_.data());
  const size_t n = pending_.size();
  size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    const tok::Utf8Char c = tok::decode_utf8(p + i, n - i);
    if (!c.valid && c.truncated) break;
    i += c.len;
  }
  if (i == 0) return;
  tok::append_utf8_lossy(std::string_view(pending_).substr(0, i), out);
  pending_.erase(0, i);
}

std::string StreamingDecoder::flush() {
  std::string out = tok::utf8_lossy(pending_);
  pending_.clear();
  return out;
}

}  // namespace vamba
