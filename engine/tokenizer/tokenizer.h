// The Qwen2 tokenizer: HF `tokenizers` byte-level BPE loaded from a checkpoint's tokenizer.json.
//
//   text ─► added tokens (<|im_start|> ...) matched in the raw text
//        ─► NFC ─► Qwen2 regex split (pretokenizer.h) ─► byte-level BPE per piece (bpe.h) ─► ids
//
// encode() matches HF `Tokenizer.encode(text, add_special_tokens=False)` id for id (the
// post-processor adds nothing for Qwen2 anyway) and decode() matches `decode(ids,
// skip_special_tokens)`, including U+FFFD for byte sequences that are not UTF-8. Any input is
// accepted: bytes that are not UTF-8 are still encoded through their byte tokens. A Tokenizer is
// immutable after load and thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"
#include "engine/tokenizer/added_tokens.h"
#include "engine/tokenizer/bpe.h"
#include "engine/tokenizer/token_index.h"

namespace vamba {

struct EncodeOptions {
  // Treat special added tokens written in the text as plain text (HF `encode_special_tokens`).
  // Use it for untrusted text spliced into a template, so a user cannot inject <|im_end|>.
  bool split_special_tokens = false;
};

class Tokenizer {
 public:
  // `path`: a checkpoint folder (or any folder) holding tokenizer.json, or the tokenizer.json
  // itself. Errors name the file: NOT_FOUND when it is missing, INVALID_ARGUMENT when it is
  // malformed, UNIMPLEMENTED when it asks for a model or pipeline stage other than Qwen2's.
  static StatusOr<std::unique_ptr<Tokenizer>> load(const std::string& path);
  // The same from the file's contents; `label` names the source in error messages.
  static StatusOr<std::unique_ptr<Tokenizer>> from_json(std::string_view json,
                                                        const std::string& label);

  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;
  ~Tokenizer();

  std::vector<int32_t> encode(std::string_view text, const EncodeOptions& options = {}) const;
  // Appends to `ids`.
  void encode(std::string_view text, std::vector<int32_t>* ids,
              const EncodeOptions& options = {}) const;
  // The same pipeline with the naive BPE and no cache: the oracle that tests and the benchmark
  // compare the fast path against.
  std::vector<int32_t> encode_reference(std::string_view text,
                                        const EncodeOptions& options = {}) const;

  // Ids without a token are skipped, as HF does.
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;

  // The raw bytes token `id` stands for (empty for an unknown id). Not necessarily UTF-8 on its
  // own.
  std::string_view token_bytes(int32_t id) const;
  bool is_known(int32_t id) const;
  // True for added tokens marked "special" (what skip_special_tokens drops).
  bool is_special(int32_t id) const;
  // Id of a token as tokenizer.json spells it: an added token's content ("<|im_end|>") or a
  // vocabulary entry in byte-level form ("Ġthe").
  std::optional<int32_t> token_to_id(std::string_view token) const;
  // token_to_id() that fails with a clear message (for the ids generation cannot run without).
  StatusOr<int32_t> require_token_id(std::string_view token) const;
  // The inverse of token_to_id().
  std::optional<std::string> id_to_token(int32_t id) const;

  // One past the largest id (vocabulary plus added tokens).
  int32_t vocab_size() const { return static_cast<int32_t>(token_bytes_.size()); }
  const std::vector<tok::AddedToken>& added_tokens() const { return added_; }
  // The file this tokenizer was read from.
  const std::string& source() const { return source_; }

 private:
  Tokenizer() = default;
  friend class TokenizerLoader;

  void encode_impl(std::string_view text, const EncodeOptions& options, bool reference,
                   std::vector<int32_t>* ids) const;
  void encode_normalized(std::string_view text, const EncodeOptions& options, bool reference,
                         std::vector<int32_t>* ids) const;

  enum Kind : uint8_t {
    kUnknown = 0,  // no token has this id
    kVocab = 1,    // model.vocab, spelled in the byte-level alphabet
    kAdded = 2,    // added token, not special
    kSpecial = 3,  // added token marked special
    kVocabRaw = 4  // model.vocab entry with characters outside the alphabet: its bytes are its text
  };

  std::string source_;
  bool nfc_ = true;
  std::unique_ptr<tok::Bpe> bpe_;
  std::vector<std::string> token_bytes_;  // id -> raw bytes
  std::vector<uint8_t> kind_;             // id -> Kind
  tok::TokenIndex vocab_index_;           // raw bytes -> id, kVocab entries
  tok::StringIdMap raw_vocab_;            // spelling -> id, kVocabRaw entries (normally none)
  std::vector<tok::AddedToken> added_;
  tok::StringIdMap added_by_content_;
  tok::AddedTokenMatcher raw_matcher_;         // added tokens with normalized == false
  tok::AddedTokenMatcher normalized_matcher_;  // ... == true (matched after NFC)
};

}  // namespace vamba
