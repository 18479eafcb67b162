// GPT-2's byte-level alphabet: every byte 0..255 is spelled as one printable Unicode character so
// that vocabulary entries are text. Printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') stand
// for themselves; the other 68 bytes map, in order, to U+0100, U+0101, ... (space -> 'Ġ', '\n' ->
// 'Ċ').
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace vamba::tok {

// The code point standing for byte b.
uint32_t byte_to_char(uint8_t b);

// UTF-8 spelling of each byte's character (what the vocabulary uses).
const std::array<std::string, 256>& byte_level_alphabet();

// Appends the bytes a byte-level token stands for. Returns false (appending nothing) when `token`
// holds a character outside the alphabet; callers then use the token's own UTF-8 bytes, as HF's
// ByteLevel decoder does for added tokens such as "<|im_end|>" ... whose characters are all in it.
bool byte_level_decode(std::string_view token, std::string* out);

// Spells raw bytes in the byte-level alphabet (the inverse of byte_level_decode).
std::string byte_level_encode(std::string_view bytes);

}  // namespace vamba::tok
