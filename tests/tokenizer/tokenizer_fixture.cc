#include "tests/tokenizer/tokenizer_fixture.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <atomic>
#include <filesystem>
#include <fstream>

#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/pretokenizer.h"
#include "tests/testing/golden.h"

namespace vamba::testing {

const std::vector<GoldenCase>& golden_cases() {
  static const std::vector<GoldenCase> cases = [] {
    std::vector<GoldenCase> out;
    const std::string path = golden_path("tokenizer/cases.jsonl");
    std::ifstream in(path);
    EXPECT_TRUE(in.good()) << "cannot read " << path;
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (line.empty()) continue;
      const auto j = nlohmann::json::parse(line);
      GoldenCase c;
      c.line = n;
      c.text = j.at("text").get<std::string>();
      c.ids = j.at("ids").get<std::vector<int32_t>>();
      c.decoded = j.at("decoded").get<std::string>();
      out.push_back(std::move(c));
    }
    return out;
  }();
  return cases;
}

const Tokenizer* golden_tokenizer() {
  static const std::unique_ptr<Tokenizer> tok = []() -> std::unique_ptr<Tokenizer> {
    auto t = Tokenizer::load(golden_path("tokenizer"));
    if (!t.ok()) {
      ADD_FAILURE() << t.status().to_string();
      return nullptr;
    }
    return std::move(t).value();
  }();
  if (!tok) ADD_FAILURE() << "the golden tokenizer did not load";
  return tok.get();
}

nlohmann::json tiny_tokenizer_json() {
  nlohmann::json vocab = nlohmann::json::object();
  const auto& alphabet = tok::byte_level_alphabet();
  for (int b = 0; b < 256; ++b) vocab[alphabet[b]] = b;
  vocab["ab"] = 256;
  vocab["abc"] = 257;
  vocab["Ġa"] = 258;
  nlohmann::json j;
  j["version"] = "1.0";
  j["added_tokens"] = nlohmann::json::array(
      {{{"id", 259}, {"content", "<x>"}, {"special", true}, {"normalized", false}},
       {{"id", 260}, {"content", "<x>y"}, {"special", false}, {"normalized", false}}});
  j["normalizer"] = {{"type", "NFC"}};
  j["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       nlohmann::json::array(
           {{{"type", "Split"},
             {"pattern", {{"Regex", std::string(tok::kQwen2SplitPattern)}}},
             {"behavior", "Isolated"},
             {"invert", false}},
            {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}})}};
  j["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}};
  j["model"] = {
      {"type", "BPE"},
      {"vocab", vocab},
      {"merges", nlohmann::json::array({"a b", nlohmann::json::array({"ab", "c"}), "Ġ a"})}};
  return j;
}

std::string write_temp_file(const std::string& name, const std::string& content) {
  static std::atomic<int> counter{0};
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::path(::testing::TempDir()) /
      ("vamba_tok_" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1)));
  fs::create_directories(dir);
  const fs::path file = dir / name;
  std::ofstream(file, std::ios::binary) << content;
  return file.string();
}

std::string show(const std::string& text) {
  return nlohmann::json(text)
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
      .substr(0, 120);
}

}  // namespace vamba::testing
