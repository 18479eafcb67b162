// Parsing tokenizer.json quickly. The file is ~11 MB, nearly all of it model.vocab (151k entries)
// and model.merges (151k pairs); building those as a JSON DOM (a std::map node per entry) is what
// made loading slow. A SAX pass streams them straight into flat vectors and builds a DOM for the
// rest only (added_tokens, normalizer, pre_tokenizer, ...).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/core/status.h"

namespace vamba::tok {

struct TokenizerJson {
  // The document without model.vocab / model.merges when those had their usual shapes (an object,
  // an array); otherwise they stay here, for the loader to report.
  nlohmann::json rest;
  bool has_vocab = false;
  std::vector<std::pair<std::string, int64_t>> vocab;  // in file order
  bool has_merges = false;
  std::vector<std::pair<std::string, std::string>> merges;  // rank = index
};

// INVALID_ARGUMENT "<label>: ..." for text that is not JSON or whose vocab/merges entries are
// malformed (a non-integer id, a merge that is neither "a b" nor [a, b]).
StatusOr<TokenizerJson> parse_tokenizer_json(std::string_view text, const std::string& label);

}  // namespace vamba::tok
