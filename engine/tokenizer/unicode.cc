#include "engine/tokenizer/unicode.h"

#include <utf8proc.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "engine/tokenizer/utf8.h"

namespace vamba::tok {
namespace {

uint8_t class_from_utf8proc(uint32_t cp) {
  if (cp == 0x85) return kClassSpace;
  if (cp >= 0x09 && cp <= 0x0D)
    return (cp == '\r' || cp == '\n') ? (kClassSpace | kClassCrLf) : kClassSpace;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
      return kClassLetter;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return kClassNumber;
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
      return kClassSpace;
    default:
      return 0;
  }
}

// NFC "quick check" table: a character is *inert* when NFC can neither change it nor merge it with
// its neighbours: combining class 0, NFC(c) == c, and neither c nor the first character of its
// decomposition ever appears as a later element of a canonical decomposition (i.e. can be the
// second half of a composition, like U+0301 or the Hangul V/T jamo). A string of inert characters
// is its own NFC, and every inert character starts a normalization-independent segment, so only
// the windows [inert char before, next inert char) around non-inert characters need utf8proc.
class InertTable {
 public:
  InertTable() : bits_((kMaxCp + 64) / 64, 0) {
    std::vector<bool> second(kMaxCp, false);
    std::vector<utf8proc_int32_t> first_of(kMaxCp, -1);  // first char of a decomposition
    utf8proc_int32_t buf[16];
    for (uint32_t cp = 0; cp < kMaxCp; ++cp) {
      if (cp >= 0xD800 && cp <= 0xDFFF) continue;
      const auto n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), buf, 16,
                                             UTF8PROC_DECOMPOSE, nullptr);
      if (n <= 0 || (n == 1 && buf[0] == static_cast<utf8proc_int32_t>(cp))) continue;
      first_of[cp] = buf[0];
      for (utf8proc_ssize_t k = 1; k < n && k < 16; ++k)
        second[static_cast<uint32_t>(buf[k])] = true;
    }
    for (uint32_t cp = 0; cp < kMaxCp; ++cp) {
      if (cp >= 0xD800 && cp <= 0xDFFF) continue;
      if (second[cp]) continue;
      if (utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))->combining_class != 0) continue;
      if (first_of[cp] >= 0) {
        if (second[static_cast<uint32_t>(first_of[cp])]) continue;
        if (!nfc_of_one_is_itself(cp)) continue;
      }
      bits_[cp >> 6] |= uint64_t{1} << (cp & 63);
    }
  }

  bool inert(uint32_t cp) const { return cp < kMaxCp && ((bits_[cp >> 6] >> (cp & 63)) & 1); }

 private:
  static constexpr uint32_t kMaxCp = 0x110000;

  static bool nfc_of_one_is_itself(uint32_t cp) {
    std::string s;
    append_utf8(cp, &s);
    utf8proc_uint8_t* dst = nullptr;
    const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                static_cast<utf8proc_ssize_t>(s.size()), &dst,
                                static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
    const bool same = n >= 0 && std::string_view(reinterpret_cast<char*>(dst), n) == s;
    std::free(dst);
    return same;
  }

  std::vector<uint64_t> bits_;
};

const InertTable& inert_table() {
  static const InertTable table;
  return table;
}

void append_nfc_window(std::string_view window, std::string* out) {
  utf8proc_uint8_t* dst = nullptr;
  const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(window.data()),
                              static_cast<utf8proc_ssize_t>(window.size()), &dst,
                              static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n >= 0) {
    out->append(reinterpret_cast<char*>(dst), static_cast<size_t>(n));
  } else {
    out->append(window);  // cannot happen for well-formed input; keep the text rather than lose it
  }
  std::free(dst);
}

}  // namespace

uint8_t char_class_slow(uint32_t cp) { return class_from_utf8proc(cp); }

void prepare_nfc() { (void)inert_table(); }

size_t nfc_inert_prefix(std::string_view text) {
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  const InertTable* table = nullptr;
  size_t i = 0;
  while (i < n) {
    // ASCII is inert: skip 8 bytes at a time.
    if (i + 8 <= n) {
      uint64_t v;
      std::memcpy(&v, p + i, 8);
      if ((v & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    const Utf8Char c = decode_utf8(p + i, n - i);
    if (c.valid) {
      if (!table) table = &inert_table();
      if (!table->inert(c.cp)) break;
    }
    i += c.len;  // invalid bytes pass through NFC unchanged
  }
  if (i >= n) return n;
  // The character at i may compose with the inert character before it: back up to that one's start.
  size_t b = i;
  while (b > 0) {
    --b;
    if ((p[b] & 0xC0) != 0x80) break;
  }
  return b;
}

void append_nfc(std::string_view text, std::string* out) {
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  out->reserve(out->size() + n);
  const InertTable& table = inert_table();
  constexpr size_t kNone = static_cast<size_t>(-1);
  size_t copied = 0;          // text[0, copied) is already in *out
  size_t last_inert = kNone;  // start of the inert character just before i, if any
  size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      last_inert = i++;
      continue;
    }
    const Utf8Char c = decode_utf8(p + i, n - i);
    if (!c.valid) {
      last_inert = kNone;  // passes through unchanged; nothing composes across it
      i += c.len;
      continue;
    }
    if (table.inert(c.cp)) {
      last_inert = i;
      i += c.len;
      continue;
    }
    // A character NFC may change or merge: normalize from the inert character before it (which it
    // may compose with) up to the next inert character or invalid byte.
    const size_t begin = last_inert != kNone ? last_inert : i;
    size_t j = i + c.len;
    while (j < n) {
      if (p[j] < 0x80) break;
      const Utf8Char d = decode_utf8(p + j, n - j);
      if (!d.valid || table.inert(d.cp)) break;
      j += d.len;
    }
    out->append(text.data() + copied, begin - copied);
    append_nfc_window(text.substr(begin, j - begin), out);
    copied = j;
    last_inert = kNone;
    i = j;
  }
  out->append(text.data() + copied, n - copied);
}

}  // namespace vamba::tok
