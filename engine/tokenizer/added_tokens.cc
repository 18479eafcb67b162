#include "engine/tokenizer/added_tokens.h"

#include "engine/tokenizer/unicode.h"
#include "engine/tokenizer/utf8.h"

namespace vamba::tok {
namespace {

// The character ending right before `end` / starting at `begin` (invalid bytes count as class 0).
uint8_t class_before(std::string_view text, size_t end) {
  if (end == 0) return 0;
  size_t b = end - 1;
  while (b > 0 && end - b < 4 && (static_cast<uint8_t>(text[b]) & 0xC0) == 0x80) --b;
  const Utf8Char c = decode_utf8(reinterpret_cast<const uint8_t*>(text.data()) + b, end - b);
  if (!c.valid || b + c.len != end) return 0;
  return char_class(c.cp) | (c.cp == '_' ? kClassLetter : 0);
}

uint8_t class_at(std::string_view text, size_t begin, uint32_t* len) {
  *len = 1;
  if (begin >= text.size()) return 0;
  const Utf8Char c =
      decode_utf8(reinterpret_cast<const uint8_t*>(text.data()) + begin, text.size() - begin);
  if (!c.valid) return 0;
  *len = c.len;
  return char_class(c.cp) | (c.cp == '_' ? kClassLetter : 0);
}

}  // namespace

int32_t AddedTokenMatcher::child(int32_t node, uint8_t b) const {
  for (const auto& [byte, kid] : nodes_[node].kids) {
    if (byte == b) return kid;
  }
  return -1;
}

void AddedTokenMatcher::add(const AddedToken& token) {
  if (token.content.empty()) return;
  int32_t node = 0;
  for (char ch : token.content) {
    const auto b = static_cast<uint8_t>(ch);
    int32_t next = child(node, b);
    if (next < 0) {
      next = static_cast<int32_t>(nodes_.size());
      nodes_.push_back(Node{});
      nodes_[node].kids.emplace_back(b, next);
    }
    node = next;
  }
  if (nodes_[node].token >= 0) {
    tokens_[nodes_[node].token] = token;
  } else {
    nodes_[node].token = static_cast<int32_t>(tokens_.size());
    tokens_.push_back(token);
  }
  starts_[static_cast<uint8_t>(token.content[0])] = true;
}

void AddedTokenMatcher::find_all(std::string_view text, bool skip_special,
                                 std::vector<Match>* out) const {
  out->clear();
  if (tokens_.empty()) return;
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  size_t consumed = 0;  // end of the previous match (lstrip never reaches before it)
  size_t i = 0;
  while (i < n) {
    if (!starts_[p[i]]) {
      ++i;
      continue;
    }
    // Longest token starting at i.
    int32_t best = -1;
    size_t best_end = 0;
    int32_t node = 0;
    for (size_t j = i; j < n; ++j) {
      node = child(node, p[j]);
      if (node < 0) break;
      const int32_t t = nodes_[node].token;
      if (t >= 0 && !(skip_special && tokens_[t].special)) {
        best = t;
        best_end = j + 1;
      }
    }
    if (best < 0) {
      ++i;
      continue;
    }
    const AddedToken& tok = tokens_[best];
    size_t begin = i, end = best_end;
    if (tok.single_word) {
      uint32_t len;
      const bool word_before = (class_before(text, begin) & (kClassLetter | kClassNumber)) != 0;
      const bool word_after = (class_at(text, end, &len) & (kClassLetter | kClassNumber)) != 0;
      if (word_before || word_after) {
        i = best_end;  // like the automaton, the rejected match's bytes are not rescanned
        continue;
      }
    }
    if (tok.lstrip) {
      while (begin > consumed && (class_before(text, begin) & kClassSpace)) {
        size_t b = begin - 1;
        while (b > consumed && (p[b] & 0xC0) == 0x80) --b;
        begin = b;
      }
    }
    if (tok.rstrip) {
      uint32_t len;
      while (end < n && (class_at(text, end, &len) & kClassSpace)) end += len;
    }
    out->push_back({begin, end, tok.id});
    consumed = end;
    i = end;
  }
}

}  // namespace vamba::tok
