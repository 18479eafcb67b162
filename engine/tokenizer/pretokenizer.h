// The Qwen2 pre-tokenizer: splits normalized text into the pieces BPE runs on, exactly as HF
// `tokenizers` does with Split(Isolated) and this Oniguruma regex (matches are tried
// leftmost-first, alternatives in order, with backtracking):
//
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|
//   \s*[\r\n]+|\s+(?!\S)|\s+
//
// A hand-written scanner instead of a regex engine: one pass, no backtracking blow-up, ASCII
// classified from an inline table. Every character is covered by some alternative, so the pieces
// tile the text. Bytes that are not well-formed UTF-8 count as one punctuation-like character each
// (never letters, digits or spaces).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/tokenizer/unicode.h"
#include "engine/tokenizer/utf8.h"

namespace vamba::tok {

// The regex above, as tokenizer.json spells it; the loader accepts only this pattern.
inline constexpr std::string_view kQwen2SplitPattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

namespace detail {

struct ScanChar {
  uint32_t cp;
  uint32_t len;
  uint8_t cls;
};

inline constexpr uint32_t kInvalidCp = 0xFFFFFFFFu;

inline ScanChar scan_at(const uint8_t* p, size_t n, size_t i) {
  const uint8_t b = p[i];
  if (b < 0x80) return {b, 1, kAsciiClass[b]};
  const Utf8Char u = decode_utf8(p + i, n - i);
  if (!u.valid) return {kInvalidCp, 1, 0};
  return {u.cp, u.len, char_class_slow(u.cp)};
}

// End of the run starting at i of characters whose class intersects `want`.
inline size_t skip_run(const uint8_t* p, size_t n, size_t i, uint8_t want) {
  while (i < n) {
    if (p[i] < 0x80) {
      if (!(kAsciiClass[p[i]] & want)) break;
      ++i;
      continue;
    }
    const ScanChar c = scan_at(p, n, i);
    if (!(c.cls & want)) break;
    i += c.len;
  }
  return i;
}

// End of the run starting at i of characters whose class avoids `avoid` entirely.
inline size_t skip_run_not(const uint8_t* p, size_t n, size_t i, uint8_t avoid) {
  while (i < n) {
    const ScanChar c = scan_at(p, n, i);
    if (c.cls & avoid) break;
    i += c.len;
  }
  return i;
}

// Simple case folding onto the ASCII letters the contraction alternative uses. Besides ASCII
// upper case, only U+017F LATIN SMALL LETTER LONG S folds onto one of them ('s').
inline uint32_t fold_contraction(uint32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + 32;
  if (cp == 0x017F) return 's';
  return cp;
}

// End of the contraction (?i:'s|'t|'re|'ve|'m|'ll|'d) starting at i (character c), or 0.
inline size_t contraction_end(const uint8_t* p, size_t n, size_t i, const ScanChar& c) {
  const size_t after = i + c.len;
  if (c.cp != '\'' || after >= n) return 0;
  const ScanChar c1 = scan_at(p, n, after);
  const uint32_t f1 = fold_contraction(c1.cp);
  if (f1 == 's' || f1 == 't' || f1 == 'm' || f1 == 'd') return after + c1.len;
  if ((f1 == 'r' || f1 == 'v' || f1 == 'l') && after + c1.len < n) {
    const ScanChar c2 = scan_at(p, n, after + c1.len);
    const uint32_t f2 = fold_contraction(c2.cp);
    if ((f2 == 'e' && f1 != 'l') || (f2 == 'l' && f1 == 'l')) return after + c1.len + c2.len;
  }
  return 0;
}

}  // namespace detail

// Calls piece(begin, end) for each piece of `text` in order (byte offsets).
template <typename PieceFn>
void for_each_qwen2_piece(std::string_view text, PieceFn&& piece) {
  using detail::scan_at;
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  constexpr uint8_t kLNS = kClassLetter | kClassNumber | kClassSpace;
  size_t i = 0;
  while (i < n) {
    const size_t start = i;
    const detail::ScanChar c = scan_at(p, n, i);
    const size_t after = i + c.len;
    size_t end;

    if (c.cls & kClassLetter) {
      // \p{L}+ (the optional leading character of the alternative is absent here)
      end = detail::skip_run(p, n, after, kClassLetter);
    } else if (const size_t e = detail::contraction_end(p, n, i, c); e != 0) {
      end = e;  // (?i:'s|'t|'re|'ve|'m|'ll|'d)
    } else if (!(c.cls & (kClassCrLf | kClassNumber)) && after < n &&
               (scan_at(p, n, after).cls & kClassLetter)) {
      // [^\r\n\p{L}\p{N}]\p{L}+
      end = detail::skip_run(p, n, after, kClassLetter);
    } else if (c.cls & kClassNumber) {
      end = after;  // \p{N}
    } else if (!(c.cls & kLNS)) {
      //  ?[^\s\p{L}\p{N}]+[\r\n]*  without the optional space
      end = detail::skip_run_not(p, n, after, kLNS);
      while (end < n && (p[end] == '\r' || p[end] == '\n')) ++end;
    } else if (c.cp == ' ' && after < n && !(scan_at(p, n, after).cls & kLNS)) {
      //  ?[^\s\p{L}\p{N}]+[\r\n]*  with the space
      end = detail::skip_run_not(p, n, after, kLNS);
      while (end < n && (p[end] == '\r' || p[end] == '\n')) ++end;
    } else {
      // Whitespace: \s*[\r\n]+ | \s+(?!\S) | \s+
      size_t j = i, last_start = i, crlf_end = 0;
      while (j < n) {
        const detail::ScanChar e = scan_at(p, n, j);
        if (!(e.cls & kClassSpace)) break;
        last_start = j;
        j += e.len;
        if (e.cls & kClassCrLf) crlf_end = j;
      }
      if (crlf_end > i) {
        end = crlf_end;  // through the last line break of the run
      } else if (j == n || last_start == i) {
        end = j;  // the run ends the text, or a single space before \S (plain \s+)
      } else {
        end = last_start;  // leave the last space to prefix the next piece
      }
    }
    piece(start, end);
    i = end;
  }
}

struct PieceSpan {
  size_t begin = 0;  // byte offsets into the text
  size_t end = 0;
};

// The pieces of `text` in order (out is cleared first).
void split_qwen2(std::string_view text, std::vector<PieceSpan>* out);

}  // namespace vamba::tok
