// Every case of golden/tokenizer/cases.jsonl (produced by HF `tokenizers`): ids and decoded text.
#include <gtest/gtest.h>

#include "engine/tokenizer/tokenizer.h"
#include "tests/testing/golden.h"
#include "tests/tokenizer/tokenizer_fixture.h"

namespace vamba::testing {
namespace {

TEST(TokenizerGolden, CasesFileHasCases) {
  // Guards every loop below against passing vacuously on an empty or unreadable file.
  EXPECT_GE(golden_cases().size(), 100u);
}

TEST(TokenizerGolden, EncodeMatchesEveryCase) {
  const Tokenizer* tok = golden_tokenizer();
  ASSERT_NE(tok, nullptr);
  int failures = 0;
  for (const auto& c : golden_cases()) {
    const auto ids = tok->encode(c.text);
    EXPECT_EQ(ids, c.ids) << "cases.jsonl line " << c.line << ": " << show(c.text);
    failures += ids != c.ids;
  }
  EXPECT_EQ(failures, 0);
}

TEST(TokenizerGolden, EncodeTwiceHitsTheCacheAndStillMatches) {
  const Tokenizer* tok = golden_tokenizer();
  ASSERT_NE(tok, nullptr);
  for (int round = 0; round < 2; ++round) {
    for (const auto& c : golden_cases()) {
      EXPECT_EQ(tok->encode(c.text), c.ids) << "round " << round << ", line " << c.line;
    }
  }
}

TEST(TokenizerGolden, ReferenceEncodeMatchesEveryCase) {
  const Tokenizer* tok = golden_tokenizer();
  ASSERT_NE(tok, nullptr);
  for (const auto& c : golden_cases()) {
    EXPECT_EQ(tok->encode_reference(c.text), c.ids)
        << "cases.jsonl line " << c.line << ": " << show(c.text);
  }
}

TEST(TokenizerGolden, DecodeMatchesEveryCase) {
  const Tokenizer* tok = golden_tokenizer();
  ASSERT_NE(tok, nullptr);
  for (const auto& c : golden_cases()) {
    EXPECT_EQ(tok->decode(c.ids), c.decoded) << "cases.jsonl line " << c.line;
  }
}

TEST(TokenizerGolden, AppendingEncodeKeepsEarlierIds) {
  const Tokenizer* tok = golden_tokenizer();
  ASSERT_NE(tok, nullptr);
  std::vector<int32_t> all, expected;
  for (const auto& c : golden_cases()) {
    tok->encode(c.text, &all);
    expected.insert(expected.end(), c.ids.begin(), c.ids.end());
  }
  EXPECT_EQ(all, expected);
}

TEST(TokenizerGolden, CheckpointFolderCarriesTheSameTokenizer) {
  // A checkpoint folder (vamba-tiny) loads through the same path as a bare tokenizer folder.
  auto tok = Tokenizer::load(golden_path("vamba-tiny"));
  ASSERT_TRUE(tok.ok()) << tok.status().to_string();
  for (const auto& c : golden_cases()) {
    EXPECT_EQ((*tok)->encode(c.text), c.ids) << "cases.jsonl line " << c.line;
  }
}

TEST(TokenizerGolden, LoadsFromTheFileItself) {
  auto tok = Tokenizer::load(golden_path("tokenizer/tokenizer.json"));
  ASSERT_TRUE(tok.ok()) << tok.status().to_string();
  EXPECT_EQ((*tok)->source(), golden_path("tokenizer/tokenizer.json"));
  ASSERT_FALSE(golden_cases().empty());
  EXPECT_EQ((*tok)->encode(golden_cases().back().text), golden_cases().back().ids);
}

}  // namespace
}  // namespace vamba::testing
