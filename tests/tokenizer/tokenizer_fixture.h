// Shared by the tokenizer tests: the real Qwen2 tokenizer and cases.jsonl from the golden folder
// (loaded once per process), and a tiny synthetic tokenizer.json for error and edge-case tests.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/tokenizer/tokenizer.h"

namespace vamba::testing {

struct GoldenCase {
  int line = 0;  // 1-based line in cases.jsonl
  std::string text;
  std::vector<int32_t> ids;
  std::string decoded;
};

// golden_path("tokenizer/cases.jsonl"); fails the calling test when unreadable.
const std::vector<GoldenCase>& golden_cases();
// The tokenizer of golden_path("tokenizer"); nullptr (after a test failure) when it cannot load.
const Tokenizer* golden_tokenizer();

// A valid tokenizer.json in the Qwen2 layout with only the 256 byte tokens, a few merges
// ("a b" -> "ab", "ab c" -> "abc", "Ġ a" -> "Ġa") and two added tokens "<x>" (special) and "<x>y".
nlohmann::json tiny_tokenizer_json();
// Writes `content` to a fresh file `name` in a fresh temporary folder; returns its path.
std::string write_temp_file(const std::string& name, const std::string& content);

// Short printable form of text for failure messages.
std::string show(const std::string& text);

}  // namespace vamba::testing
