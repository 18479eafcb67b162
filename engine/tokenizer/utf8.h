// UTF-8 helpers shared by the tokenizer: decoding one character with the exact well-formedness
// rules of Unicode table 3-7, and the lossy conversion that replaces each maximal invalid subpart
// with U+FFFD the same way Rust's String::from_utf8_lossy does (so decoded text matches HF
// `tokenizers`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace vamba::tok {

inline constexpr uint32_t kReplacementChar = 0xFFFD;

struct Utf8Char {
  uint32_t cp = 0;   // the code point; meaningless when !valid
  uint32_t len = 0;  // bytes consumed: the whole character, or the maximal invalid subpart (>= 1)
  bool valid = false;
  // Only for !valid: the bytes are a correct but truncated start of a character (more input could
  // complete it). The streaming decoder holds such tails back.
  bool truncated = false;
};

// Decodes the character starting at p[0] (n >= 1 bytes available).
inline Utf8Char decode_utf8(const uint8_t* p, size_t n) {
  const uint8_t b0 = p[0];
  if (b0 < 0x80) return {b0, 1, true, false};
  // Lead byte: sequence length and the allowed range of the second byte (table 3-7). Anything
  // outside these ranges (80..C1, F5..FF) is one invalid byte.
  uint32_t need;
  uint8_t lo = 0x80, hi = 0xBF;
  uint32_t cp;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;  // nothing past U+10FFFF
  } else {
    return {0, 1, false, false};
  }
  for (uint32_t k = 1; k <= need; ++k) {
    if (k >= n) return {0, k, false, true};  // valid so far, input ends
    const uint8_t b = p[k];
    if (b < lo || b > hi) return {0, k, false, false};
    cp = (cp << 6) | (b & 0x3F);
    lo = 0x80;
    hi = 0xBF;
  }
  return {cp, need + 1, true, false};
}

// Appends the UTF-8 encoding of `cp` (a Unicode scalar value) to `out`.
void append_utf8(uint32_t cp, std::string* out);

// True when `s` is entirely well-formed UTF-8.
bool is_valid_utf8(std::string_view s);

// Appends `bytes` to `out` with every maximal invalid subpart replaced by U+FFFD.
void append_utf8_lossy(std::string_view bytes, std::string* out);
inline std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  append_utf8_lossy(bytes, &out);
  return out;
}

}  // namespace vamba::tok
