// Added and special tokens: looked up by content, matched in raw text (longest first), kept as
// plain text on request, and dropped by skip_special_tokens.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "engine/tokenizer/chat_prompt.h"
#include "engine/tokenizer/tokenizer.h"
#include "tests/testing/golden.h"
#include "tests/tokenizer/tokenizer_fixture.h"

namespace vamba::testing {
namespace {

// id of an added token straight from tokenizer.json, independently of the loader.
int32_t added_id_in_file(const std::string& content) {
  std::ifstream in(golden_path("tokenizer/tokenizer.json"));
  static const nlohmann::json j = nlohmann::json::parse(in);
  for (const auto& a : j.at("added_tokens")) {
    if (a.at("content") == content) return a.at("id").get<int32_t>();
  }
  ADD_FAILURE() << content << " is not an added token of tokenizer.json";
  return -1;
}

TEST(TokenizerSpecial, IdsByContentMatchTheFile) {
  const Tokenizer* tok = golden_tokenizer();
  ASSERT_NE(tok, nullptr);
  auto s = qwen2_special_tokens(*tok);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->im_end, added_id_in_file("<|im_end|>"));
  EXPECT_EQ(s->endoftext, added_id_in_file("<|endoftext|>"));
  EXPECT_EQ(s->im_start, added_id_in_file("<|im_start|>"));
  EXPECT_EQ(s->vision_start, added_id_in_file("<|vision_start|>"));
  EXPECT_EQ(s->vision_end, added_id_in_file("<|vision_end|>"));
  EXPECT_EQ(s->video_pad, added_id_in_file("<|video_pad|>"));
  EXPECT_EQ(s->stop_ids(), (std::vector<int32_t>{s->im_end, s->endoftext}));
  EXPECT_TRUE(tok->is_special(s->im_end));
  EXPECT_EQ(tok->id_to_token(s->im_end), "<|im_end|>");
  EXPECT_EQ(tok->token_bytes(s->im_end), "<|im_end|>");
}

TEST(TokenizerSpecial, VocabularyTokensBySpelling) {
  const Tokenizer* tok = golden_tokenizer();
  ASSERT_NE(tok, nullptr);
  // "Hello world" encodes to two tokens; their spellings map back to the same ids.
  const auto ids = tok->encode("Hello world");
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(tok->id_to_token(ids[1]), "Ġworld");
  EXPECT_EQ(tok->token_to_id("Ġworld"), ids[1]);
  EXPECT_EQ(tok->token_bytes(ids[1]), " world");
  EXPECT_FALSE(tok->is_special(ids[1]));
  EXPECT_FALSE(tok->token_to_id("no such token here").has_value());
  auto missing = tok->require_token_id("<|no_such_token|>");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("<|no_such_token|>"), std::string::npos);
}

TEST(TokenizerSpecial, MatchedInsideTextAndSplitsIt) {
  const Tokenizer* tok = golden_tokenizer();
  ASSERT_NE(tok, nullptr);
  const int32_t im_end = added_id_in_file("<|im_end|>");
  // The text on each side is tokenized on its own: "a b" + special + " c" == parts concatenated.
  std::vector<int32_t> expected = tok->encode("x  ");
  expected.push_back(im_end);
  const auto tail = tok->encode("  y");
  expected.insert(expected.end(), tail.begin(), tail.end());
  EXPECT_EQ(tok->encode("x  <|im_end|>  y"), expected);
  // Near misses stay text.
  for (const char* text : {"<|im_end|", "<| im_end |>", "<|IM_END|>", "|im_end|>"}) {
    const auto ids = tok->encode(text);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), im_end), 0) << text;
    EXPECT_EQ(tok->decode(ids), text);
  }
}

TEST(TokenizerSpecial, SplitSpecialTokensKeepsThemAsText) {
  const Tokenizer* tok = golden_tokenizer();
  ASSERT_NE(tok, nullptr);
  const int32_t im_end = added_id_in_file("<|im_end|>");
  EncodeOptions plain;
  plain.split_special_tokens = true;
  const std::string text = "hi<|im_end|>there";
  const auto ids = tok->encode(text, plain);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), im_end), 0);
  EXPECT_GT(ids.size(), 3u);
  EXPECT_EQ(tok->decode(ids), text);
}

TEST(TokenizerSpecial, SkipSpecialTokensOnDecode) {
  const Tokenizer* tok = golden_tokenizer();
  ASSERT_NE(tok, nullptr);
  const auto ids = tok->encode("<|im_start|>user\nhello<|im_end|><tool_call>");
  EXPECT_EQ(tok->decode(ids), "<|im_start|>user\nhello<|im_end|><tool_call>");
  // <tool_call> is an added token but not a special one: it stays.
  EXPECT_EQ(tok->decode(ids, /*skip_special_tokens=*/true), "user\nhello<tool_call>");
}

TEST(TokenizerSpecial, UnknownIdsAreSkippedOnDecode) {
  const Tokenizer* tok = golden_tokenizer();
  ASSERT_NE(tok, nullptr);
  auto ids = tok->encode("ok");
  ids.insert(ids.begin(), -5);
  ids.push_back(tok->vocab_size());
  ids.push_back(1 << 30);
  EXPECT_EQ(tok->decode(ids), "ok");
  EXPECT_FALSE(tok->is_known(-5));
  EXPECT_TRUE(tok->token_bytes(tok->vocab_size()).empty());
}

TEST(TokenizerSpecial, LongestAddedTokenWins) {
  auto tok = Tokenizer::from_json(tiny_tokenizer_json().dump(), "tiny");
  ASSERT_TRUE(tok.ok()) << tok.status().to_string();
  const auto x = (*tok)->token_to_id("<x>");
  const auto xy = (*tok)->token_to_id("<x>y");
  ASSERT_TRUE(x && xy);
  // "<x>y" (longer) beats "<x>" at the same start; "<x>" alone still matches.
  EXPECT_EQ((*tok)->encode("<x>y"), (std::vector<int32_t>{*xy}));
  EXPECT_EQ((*tok)->encode("<x>"), (std::vector<int32_t>{*x}));
  const auto ids = (*tok)->encode("<x><x>yz");
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids[0], *x);
  EXPECT_EQ(ids[1], *xy);
  EXPECT_EQ((*tok)->decode(ids), "<x><x>yz");
  // With special matching off, only the non-special "<x>y" is still an added token.
  EncodeOptions plain;
  plain.split_special_tokens = true;
  const auto p = (*tok)->encode("<x>", plain);
  EXPECT_EQ(std::count(p.begin(), p.end(), *x), 0);
  EXPECT_EQ((*tok)->decode(p), "<x>");
}

TEST(TokenizerSpecial, TinyMergesApplyByRank) {
  auto tok = Tokenizer::from_json(tiny_tokenizer_json().dump(), "tiny");
  ASSERT_TRUE(tok.ok()) << tok.status().to_string();
  const auto ab = (*tok)->token_to_id("ab");
  const auto abc = (*tok)->token_to_id("abc");
  const auto sp = (*tok)->token_to_id("Ġ");
  const auto sp_a = (*tok)->token_to_id("Ġa");
  const auto c = (*tok)->token_to_id("c");
  ASSERT_TRUE(ab && abc && sp && sp_a && c);
  // "abc": a+b (rank 0) then ab+c (rank 1).
  EXPECT_EQ((*tok)->encode("abc"), (std::vector<int32_t>{*abc}));
  // " ab": a+b (rank 0) wins over Ġ+a (rank 2) although Ġ+a is further left.
  EXPECT_EQ((*tok)->encode(" ab"), (std::vector<int32_t>{*sp, *ab}));
  EXPECT_EQ((*tok)->encode_reference(" ab"), (std::vector<int32_t>{*sp, *ab}));
  // " ac": only Ġ+a applies.
  EXPECT_EQ((*tok)->encode(" ac"), (std::vector<int32_t>{*sp_a, *c}));
}

}  // namespace
}  // namespace vamba::testing
