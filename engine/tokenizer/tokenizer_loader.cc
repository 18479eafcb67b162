// Reading tokenizer.json (HF `tokenizers` serialization) into a Tokenizer. Only what Qwen2 uses is
// accepted: a BPE model, an NFC (or no) normalizer, the Qwen2 Split + ByteLevel pre-tokenizer and a
// ByteLevel decoder. Anything else is refused with UNIMPLEMENTED rather than tokenized differently
// from the reference without notice.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <limits>

#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/pretokenizer.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/tokenizer_json.h"
#include "engine/tokenizer/unicode.h"

namespace vamba {

using nlohmann::json;

class TokenizerLoader {
 public:
  explicit TokenizerLoader(std::string label) : label_(std::move(label)) {}

  StatusOr<std::unique_ptr<Tokenizer>> build(tok::TokenizerJson& parsed) {
    const json& j = parsed.rest;
    if (!j.is_object()) return bad("the top level is not a JSON object");
    auto t = std::unique_ptr<Tokenizer>(new Tokenizer());
    t->source_ = label_;
    VAMBA_RETURN_IF_ERROR(check_normalizer(j, t.get()));
    VAMBA_RETURN_IF_ERROR(check_pre_tokenizer(j));
    VAMBA_RETURN_IF_ERROR(check_decoder(j));
    VAMBA_RETURN_IF_ERROR(load_model(j, parsed, t.get()));
    VAMBA_RETURN_IF_ERROR(load_added_tokens(j, t.get()));
    if (t->nfc_) tok::prepare_nfc();
    return t;
  }

 private:
  Status bad(const std::string& m) const { return invalid_argument(label_ + ": " + m); }
  Status unsupported(const std::string& m) const { return unimplemented(label_ + ": " + m); }

  static std::string type_of(const json& j) {
    if (!j.is_object()) return "";
    auto it = j.find("type");
    return it != j.end() && it->is_string() ? it->get<std::string>() : "";
  }
  static bool flag(const json& j, const char* key, bool fallback) {
    auto it = j.find(key);
    return it != j.end() && it->is_boolean() ? it->get<bool>() : fallback;
  }

  Status check_normalizer(const json& j, Tokenizer* t) const {
    auto it = j.find("normalizer");
    if (it == j.end() || it->is_null()) {
      t->nfc_ = false;
      return ok_status();
    }
    const std::string type = type_of(*it);
    if (type == "NFC") return ok_status();
    if (type == "Sequence") {
      auto list = it->find("normalizers");
      if (list != it->end() && list->is_array()) {
        bool all_nfc = true;
        for (const auto& n : *list) all_nfc = all_nfc && type_of(n) == "NFC";
        if (all_nfc) {
          t->nfc_ = !list->empty();
          return ok_status();
        }
      }
    }
    return unsupported("normalizer " + it->dump().substr(0, 200) +
                       " is not supported (only NFC or none)");
  }

  Status check_pre_tokenizer(const json& j) const {
    auto it = j.find("pre_tokenizer");
    const std::string what = it == j.end() ? "none" : it->dump().substr(0, 300);
    const Status refuse = unsupported(
        "pre_tokenizer " + what +
        " is not supported (only Qwen2's Split regex + ByteLevel without prefix space)");
    if (it == j.end() || type_of(*it) != "Sequence") return refuse;
    auto list = it->find("pretokenizers");
    if (list == it->end() || !list->is_array() || list->size() != 2) return refuse;
    const json& split = (*list)[0];
    const json& bytes = (*list)[1];
    if (type_of(split) != "Split" || type_of(bytes) != "ByteLevel") return refuse;
    auto pattern = split.find("pattern");
    if (pattern == split.end() || !pattern->is_object()) return refuse;
    auto regex = pattern->find("Regex");
    if (regex == pattern->end() || !regex->is_string() ||
        regex->get<std::string>() != tok::kQwen2SplitPattern) {
      return refuse;
    }
    auto behavior = split.find("behavior");
    if (behavior == split.end() || *behavior != "Isolated" || flag(split, "invert", false)) {
      return refuse;
    }
    if (flag(bytes, "add_prefix_space", false) || flag(bytes, "use_regex", false)) return refuse;
    return ok_status();
  }

  Status check_decoder(const json& j) const {
    auto it = j.find("decoder");
    if (it == j.end() || it->is_null() || type_of(*it) == "ByteLevel") return ok_status();
    return unsupported("decoder " + it->dump().substr(0, 200) +
                       " is not supported (only ByteLevel)");
  }

  Status load_model(const json& j, tok::TokenizerJson& parsed, Tokenizer* t) {
    auto mit = j.find("model");
    if (mit == j.end() || !mit->is_object()) return bad("missing \"model\" object");
    const json& model = *mit;
    if (model.contains("type") && type_of(model) != "BPE") {
      return unsupported("model type " + model["type"].dump() + " is not supported (only BPE)");
    }
    if (flag(model, "byte_fallback", false))
      return unsupported("BPE byte_fallback is not supported");
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      auto it = model.find(key);
      if (it != model.end() && it->is_string() && !it->get<std::string>().empty()) {
        return unsupported(std::string("BPE ") + key + " is not supported");
      }
    }
    if (auto it = model.find("dropout");
        it != model.end() && it->is_number() && it->get<double>() > 0.0) {
      return unsupported("BPE dropout is not supported");
    }
    const bool ignore_merges = flag(model, "ignore_merges", false);

    if (!parsed.has_vocab) {
      return bad(model.contains("vocab") ? "model.vocab is not an object" : "missing model.vocab");
    }
    int64_t max_id = -1;
    for (const auto& [spelled, id] : parsed.vocab) max_id = std::max(max_id, id);
    const auto size = static_cast<size_t>(max_id + 1);
    t->token_bytes_.assign(size, std::string());
    t->kind_.assign(size, Tokenizer::kUnknown);
    for (auto& [spelled, id64] : parsed.vocab) {
      const auto id = static_cast<int32_t>(id64);
      if (t->kind_[id] != Tokenizer::kUnknown) {
        return bad("model.vocab gives id " + std::to_string(id) + " to two tokens (\"" + spelled +
                   "\" and another)");
      }
      std::string& bytes = t->token_bytes_[id];
      if (tok::byte_level_decode(spelled, &bytes)) {
        t->kind_[id] = Tokenizer::kVocab;
      } else {
        t->kind_[id] = Tokenizer::kVocabRaw;
        bytes = spelled;
        t->raw_vocab_.emplace(spelled, id);
      }
    }
    t->vocab_index_.build(&t->token_bytes_,
                          [&](size_t id) { return t->kind_[id] == Tokenizer::kVocab; });

    std::array<int32_t, 256> byte_ids;
    for (int b = 0; b < 256; ++b) {
      byte_ids[b] = t->vocab_index_.find(std::string(1, static_cast<char>(b)));
    }

    if (!parsed.has_merges && model.contains("merges") && !model["merges"].is_null()) {
      return bad("model.merges is not an array");
    }
    tok::MergeTable merges;
    merges.reserve(parsed.merges.size());
    std::string lb, rb;
    for (size_t rank = 0; rank < parsed.merges.size(); ++rank) {
      const auto& [left, right] = parsed.merges[rank];
      int32_t l = -1, r = -1, merged = -1;
      lb.clear();
      rb.clear();
      const bool l_alpha = tok::byte_level_decode(left, &lb);
      const bool r_alpha = tok::byte_level_decode(right, &rb);
      l = l_alpha ? t->vocab_index_.find(lb) : raw_id(*t, left);
      r = r_alpha ? t->vocab_index_.find(rb) : raw_id(*t, right);
      if (l_alpha && r_alpha) {
        lb += rb;
        merged = t->vocab_index_.find(lb);
      } else {
        merged = raw_id(*t, left + right);
      }
      if (l < 0 || r < 0 || merged < 0) {
        return bad("model.merges[" + std::to_string(rank) + "] (\"" + left + "\", \"" + right +
                   "\") uses a token missing from model.vocab");
      }
      merges.insert(l, r, static_cast<int32_t>(rank), merged);
    }
    t->bpe_ =
        std::make_unique<tok::Bpe>(byte_ids, std::move(merges), &t->vocab_index_, ignore_merges);
    return ok_status();
  }

  static int32_t raw_id(const Tokenizer& t, const std::string& spelled) {
    auto it = t.raw_vocab_.find(spelled);
    return it == t.raw_vocab_.end() ? -1 : it->second;
  }

  Status load_added_tokens(const json& j, Tokenizer* t) {
    auto ait = j.find("added_tokens");
    if (ait == j.end() || ait->is_null()) return ok_status();
    if (!ait->is_array()) return bad("added_tokens is not an array");
    // Grow the id tables once (added ids usually continue past the vocabulary).
    int64_t max_id = static_cast<int64_t>(t->token_bytes_.size()) - 1;
    for (const json& a : *ait) {
      if (a.is_object() && a.contains("id") && a["id"].is_number_integer()) {
        max_id =
            std::max<int64_t>(max_id, std::min<int64_t>(a["id"].get<int64_t>(), INT32_MAX - 1));
      }
    }
    t->token_bytes_.resize(static_cast<size_t>(max_id + 1));
    t->kind_.resize(static_cast<size_t>(max_id + 1), Tokenizer::kUnknown);
    for (size_t i = 0; i < ait->size(); ++i) {
      const json& a = (*ait)[i];
      const std::string where = "added_tokens[" + std::to_string(i) + "]";
      if (!a.is_object()) return bad(where + " is not an object");
      auto id = a.find("id");
      auto content = a.find("content");
      if (id == a.end() || !id->is_number_integer() || id->get<int64_t>() < 0 ||
          id->get<int64_t>() >= std::numeric_limits<int32_t>::max()) {
        return bad(where + " has no valid \"id\"");
      }
      if (content == a.end() || !content->is_string() || content->get<std::string>().empty()) {
        return bad(where + " has no \"content\"");
      }
      tok::AddedToken tok;
      tok.id = static_cast<int32_t>(id->get<int64_t>());
      tok.content = content->get<std::string>();
      tok.special = flag(a, "special", false);
      tok.single_word = flag(a, "single_word", false);
      tok.lstrip = flag(a, "lstrip", false);
      tok.rstrip = flag(a, "rstrip", false);
      tok.normalized = flag(a, "normalized", !tok.special);

      const auto uid = static_cast<size_t>(tok.id);
      if (uid >= t->token_bytes_.size()) {
        t->token_bytes_.resize(uid + 1);
        t->kind_.resize(uid + 1, Tokenizer::kUnknown);
      }
      // Decoded like any token by the ByteLevel decoder: through the alphabet when every character
      // is in it (all of Qwen2's are ASCII punctuation and letters), else as its own UTF-8.
      std::string bytes;
      if (!tok::byte_level_decode(tok.content, &bytes)) bytes = tok.content;
      t->token_bytes_[uid] = std::move(bytes);
      t->kind_[uid] = tok.special ? Tokenizer::kSpecial : Tokenizer::kAdded;
      t->added_by_content_[tok.content] = tok.id;
      if (tok.normalized && t->nfc_) {
        tok::AddedToken normalized = tok;
        normalized.content.clear();
        tok::append_nfc(tok.content, &normalized.content);
        t->normalized_matcher_.add(normalized);
      } else if (tok.normalized) {
        t->normalized_matcher_.add(tok);
      } else {
        t->raw_matcher_.add(tok);
      }
      t->added_.push_back(std::move(tok));
    }
    return ok_status();
  }

  std::string label_;
};

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::from_json(std::string_view text,
                                                          const std::string& label) {
  VAMBA_ASSIGN_OR_RETURN(tok::TokenizerJson parsed, tok::parse_tokenizer_json(text, label));
  return TokenizerLoader(label).build(parsed);
}

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::load(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::string file = path;
  if (fs::is_directory(path, ec)) file = (fs::path(path) / "tokenizer.json").string();
  if (!fs::is_regular_file(file, ec)) {
    return not_found(file + ": no such file (expected a checkpoint folder holding tokenizer.json)");
  }
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (!f) return not_found(file + ": cannot open");
  std::string text;
  std::fseek(f, 0, SEEK_END);
  const long size = std::ftell(f);
  std::fseek(f, 0, SEEK_SET);
  if (size > 0) {
    text.resize(static_cast<size_t>(size));
    const size_t got = std::fread(text.data(), 1, text.size(), f);
    text.resize(got);
  }
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return data_loss(file + ": read error");
  return from_json(text, file);
}

}  // namespace vamba
