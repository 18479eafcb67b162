#include "engine/tokenizer/byte_level.h"

#include "engine/tokenizer/utf8.h"

namespace vamba::tok {
namespace {

struct Tables {
  std::array<uint32_t, 256> to_char{};
  std::array<int16_t, 512> to_byte{};  // every alphabet character is below U+0200
  std::array<std::string, 256> spelled;

  Tables() {
    to_byte.fill(-1);
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      to_char[b] = printable ? b : next++;
      to_byte[to_char[b]] = static_cast<int16_t>(b);
      append_utf8(to_char[b], &spelled[b]);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

uint32_t byte_to_char(uint8_t b) { return tables().to_char[b]; }

const std::array<std::string, 256>& byte_level_alphabet() { return tables().spelled; }

bool byte_level_decode(std::string_view token, std::string* out) {
  const Tables& t = tables();
  const auto* p = reinterpret_cast<const uint8_t*>(token.data());
  const size_t start = out->size();
  size_t i = 0;
  while (i < token.size()) {
    const Utf8Char c = decode_utf8(p + i, token.size() - i);
    if (!c.valid || c.cp >= t.to_byte.size() || t.to_byte[c.cp] < 0) {
      out->resize(start);
      return false;
    }
    out->push_back(static_cast<char>(t.to_byte[c.cp]));
    i += c.len;
  }
  return true;
}

std::string byte_level_encode(std::string_view bytes) {
  const Tables& t = tables();
  std::string out;
  for (char ch : bytes) out += t.spelled[static_cast<uint8_t>(ch)];
  return out;
}

}  // namespace vamba::tok
