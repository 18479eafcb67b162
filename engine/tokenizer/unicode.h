// Unicode facts the Qwen2 tokenizer needs: the character classes of its pre-tokenizer regex
// (\p{L}, \p{N}, \s) and NFC normalization. Both come from utf8proc; ASCII takes a table fast path.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace vamba::tok {

// Bit flags describing one character for the pre-tokenizer.
enum CharClass : uint8_t {
  kClassLetter = 1,  // \p{L}: Lu Ll Lt Lm Lo
  kClassNumber = 2,  // \p{N}: Nd Nl No
  kClassSpace = 4,   // \s as Oniguruma defines it: U+0009..U+000D, U+0085, Zs, Zl, Zp
  kClassCrLf = 8,    // '\r' or '\n'
};

// Classes of the ASCII characters, inline for the scanner's hot path. Only \t..\r and ' ' are
// spaces (0x1C..0x1F are not White_Space, unlike Python's isspace).
inline constexpr std::array<uint8_t, 128> kAsciiClass = [] {
  std::array<uint8_t, 128> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] = kClassLetter;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = kClassLetter;
  for (int c = '0'; c <= '9'; ++c) t[c] = kClassNumber;
  for (int c : {'\t', '\v', '\f', ' '}) t[c] = kClassSpace;
  t['\n'] = t['\r'] = kClassSpace | kClassCrLf;
  return t;
}();

// The class flags of code point `cp` (0 for everything else: punctuation, symbols, marks,
// controls).
uint8_t char_class_slow(uint32_t cp);  // from utf8proc for every code point (tests compare)
inline uint8_t char_class(uint32_t cp) { return cp < 128 ? kAsciiClass[cp] : char_class_slow(cp); }

// Appends NFC(text) to `out`. Bytes that are not well-formed UTF-8 pass through unchanged and act
// as normalization boundaries. Text that is already NFC (nearly all input) is copied after a quick
// per-character check; only the few windows around characters that may compose or reorder go
// through utf8proc.
void append_nfc(std::string_view text, std::string* out);

// Length of the longest prefix of `text` that NFC leaves unchanged whatever follows (all of it, for
// nearly all text): callers can skip normalization, and its copy, when this returns text.size().
size_t nfc_inert_prefix(std::string_view text);

// Builds the NFC quick-check table now (~20 ms, once per process) instead of on the first non-ASCII
// text, so the first request does not pay for it. The tokenizer loader calls it.
void prepare_nfc();

}  // namespace vamba::tok
