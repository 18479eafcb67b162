#include "engine/tokenizer/tokenizer.h"

#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/pretokenizer.h"
#include "engine/tokenizer/unicode.h"
#include "engine/tokenizer/utf8.h"

namespace vamba {

Tokenizer::~Tokenizer() = default;

std::vector<int32_t> Tokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  encode_impl(text, options, /*reference=*/false, &ids);
  return ids;
}

void Tokenizer::encode(std::string_view text, std::vector<int32_t>* ids,
                       const EncodeOptions& options) const {
  encode_impl(text, options, /*reference=*/false, ids);
}

std::vector<int32_t> Tokenizer::encode_reference(std::string_view text,
                                                 const EncodeOptions& options) const {
  std::vector<int32_t> ids;
  encode_impl(text, options, /*reference=*/true, &ids);
  return ids;
}

void Tokenizer::encode_impl(std::string_view text, const EncodeOptions& options, bool reference,
                            std::vector<int32_t>* ids) const {
  // Added tokens first, on the raw text: the text between them is normalized and split on its own,
  // so "a<|im_end|>b" never lets the regex see across the token.
  std::vector<tok::AddedTokenMatcher::Match> matches;
  raw_matcher_.find_all(text, options.split_special_tokens, &matches);
  std::string normalized;
  size_t pos = 0;
  auto segment = [&](std::string_view s) {
    if (s.empty()) return;
    if (nfc_) {
      const size_t inert = tok::nfc_inert_prefix(s);
      if (inert < s.size()) {
        normalized.assign(s.data(), inert);
        tok::append_nfc(s.substr(inert), &normalized);
        s = normalized;
      }
    }
    encode_normalized(s, options, reference, ids);
  };
  for (const auto& m : matches) {
    segment(text.substr(pos, m.begin - pos));
    ids->push_back(m.id);
    pos = m.end;
  }
  segment(text.substr(pos));
}

void Tokenizer::encode_normalized(std::string_view text, const EncodeOptions& options,
                                  bool reference, std::vector<int32_t>* ids) const {
  auto pieces = [&](std::string_view s) {
    if (reference) {
      tok::for_each_qwen2_piece(
          s, [&](size_t b, size_t e) { bpe_->encode_word_naive(s.substr(b, e - b), ids); });
    } else {
      tok::for_each_qwen2_piece(
          s, [&](size_t b, size_t e) { bpe_->encode_word(s.substr(b, e - b), ids); });
    }
  };
  if (normalized_matcher_.empty()) {
    pieces(text);
    return;
  }
  std::vector<tok::AddedTokenMatcher::Match> matches;
  normalized_matcher_.find_all(text, options.split_special_tokens, &matches);
  size_t pos = 0;
  for (const auto& m : matches) {
    pieces(text.substr(pos, m.begin - pos));
    ids->push_back(m.id);
    pos = m.end;
  }
  pieces(text.substr(pos));
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::string bytes;
  bytes.reserve(ids.size() * 4);
  for (const int32_t id : ids) {
    if (!is_known(id)) continue;
    if (skip_special_tokens && kind_[id] == kSpecial) continue;
    bytes += token_bytes_[id];
  }
  if (tok::is_valid_utf8(bytes)) return bytes;
  return tok::utf8_lossy(bytes);
}

std::string_view Tokenizer::token_bytes(int32_t id) const {
  return is_known(id) ? std::string_view(token_bytes_[id]) : std::string_view();
}

bool Tokenizer::is_known(int32_t id) const {
  return id >= 0 && id < vocab_size() && kind_[id] != 0;
}

bool Tokenizer::is_special(int32_t id) const { return is_known(id) && kind_[id] == kSpecial; }

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (auto it = added_by_content_.find(token); it != added_by_content_.end()) return it->second;
  std::string bytes;
  if (tok::byte_level_decode(token, &bytes)) {
    if (const int32_t id = vocab_index_.find(bytes); id >= 0) return id;
  }
  if (auto it = raw_vocab_.find(token); it != raw_vocab_.end()) return it->second;
  return std::nullopt;
}

StatusOr<int32_t> Tokenizer::require_token_id(std::string_view token) const {
  if (auto id = token_to_id(token)) return *id;
  return not_found(source_ + ": the tokenizer has no token \"" + std::string(token) + "\"");
}

std::optional<std::string> Tokenizer::id_to_token(int32_t id) const {
  if (!is_known(id)) return std::nullopt;
  switch (kind_[id]) {
    case kVocab:
      return tok::byte_level_encode(token_bytes_[id]);
    case kVocabRaw:
      return token_bytes_[id];
    default:
      for (const auto& a : added_) {
        if (a.id == id) return a.content;
      }
      return std::nullopt;
  }
}

}  // namespace vamba
