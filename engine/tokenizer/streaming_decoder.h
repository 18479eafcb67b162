// Turns generated ids into text one id at a time. Byte-level tokens often end in the middle of a
// UTF-8 character (CJK, emoji), so the decoder holds back a trailing incomplete character until a
// later token completes it and never emits broken UTF-8. Bytes that can never become a character
// are emitted as U+FFFD right away. The concatenation of everything push() and flush() return
// equals Tokenizer::decode() of the same ids.
#pragma once

#include <cstdint>
#include <string>

#include "engine/tokenizer/tokenizer.h"

namespace vamba {

class StreamingDecoder {
 public:
  // `tokenizer` must outlive the decoder.
  explicit StreamingDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = false)
      : tokenizer_(&tokenizer), skip_special_tokens_(skip_special_tokens) {}

  // Adds one id; returns the text it completes (often empty, never a partial character).
  std::string push(int32_t id);
  // Appends the completed text to *out instead (no allocation when nothing completes).
  void push(int32_t id, std::string* out);
  // Ends the stream: returns what was held back (an incomplete character becomes U+FFFD) and
  // resets the decoder for reuse.
  std::string flush();

  // Bytes held back, waiting for the rest of a character (0..3).
  size_t pending_bytes() const { return pending_.size(); }

 private:
  const Tokenizer* tokenizer_;
  bool skip_special_tokens_;
  std::string pending_;
};

}  // namespace vamba
