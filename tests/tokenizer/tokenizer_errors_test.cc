// A malformed or unsupported tokenizer.json is a Status naming the file, never a crash.
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/tokenizer/tokenizer.h"
#include "tests/tokenizer/tokenizer_fixture.h"

namespace vamba::testing {
namespace {

Status load_status(const nlohmann::json& j, std::string* path) {
  *path = write_temp_file("tokenizer.json", j.dump());
  auto t = Tokenizer::load(*path);
  return t.ok() ? ok_status() : t.status();
}

void expect_error(const nlohmann::json& j, StatusCode code, const std::string& mentions) {
  std::string path;
  const Status s = load_status(j, &path);
  ASSERT_FALSE(s.ok()) << "accepted: " << j.dump().substr(0, 200);
  EXPECT_EQ(s.code(), code) << s.to_string();
  EXPECT_NE(s.message().find(path), std::string::npos) << "no file path in: " << s.message();
  EXPECT_NE(s.message().find(mentions), std::string::npos)
      << "expected \"" << mentions << "\" in: " << s.message();
}

TEST(TokenizerErrors, TinyTokenizerIsValid) {
  // The mutations below start from a file that loads, so each error is due to its one change.
  std::string path;
  EXPECT_TRUE(load_status(tiny_tokenizer_json(), &path).ok());
  auto t = Tokenizer::load(std::filesystem::path(path).parent_path().string());
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_EQ((*t)->decode((*t)->encode("abc <x> d")), "abc <x> d");
}

TEST(TokenizerErrors, MissingFileOrFolder) {
  const std::string dir = std::filesystem::path(write_temp_file("other.txt", "x")).parent_path();
  auto t = Tokenizer::load(dir);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kNotFound);
  EXPECT_NE(t.status().message().find(dir + "/tokenizer.json"), std::string::npos)
      << t.status().message();
  auto u = Tokenizer::load("/nonexistent/vamba/tokenizer.json");
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().code(), StatusCode::kNotFound);
  EXPECT_NE(u.status().message().find("/nonexistent/vamba/tokenizer.json"), std::string::npos);
}

TEST(TokenizerErrors, NotJson) {
  for (const std::string bad : {"", "{", "{\"model\": }", "[1, 2", "\xff\xfe"}) {
    const std::string path = write_temp_file("tokenizer.json", bad);
    auto t = Tokenizer::load(path);
    ASSERT_FALSE(t.ok()) << show(bad);
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(t.status().message().find(path), std::string::npos) << t.status().message();
    EXPECT_NE(t.status().message().find("JSON"), std::string::npos) << t.status().message();
  }
}

TEST(TokenizerErrors, NotAnObject) {
  expect_error(nlohmann::json::array({1, 2}), StatusCode::kInvalidArgument, "object");
}

TEST(TokenizerErrors, MissingModelOrVocab) {
  auto j = tiny_tokenizer_json();
  j.erase("model");
  expect_error(j, StatusCode::kInvalidArgument, "model");
  j = tiny_tokenizer_json();
  j["model"].erase("vocab");
  expect_error(j, StatusCode::kInvalidArgument, "model.vocab");
  j = tiny_tokenizer_json();
  j["model"]["vocab"] = nlohmann::json::array();
  expect_error(j, StatusCode::kInvalidArgument, "model.vocab");
  j = tiny_tokenizer_json();
  j["model"]["vocab"]["zz"] = "seven";
  expect_error(j, StatusCode::kInvalidArgument, "zz");
  j = tiny_tokenizer_json();
  j["model"]["vocab"]["zz"] = 3;  // id 3 already taken
  expect_error(j, StatusCode::kInvalidArgument, "id 3");
}

TEST(TokenizerErrors, UnknownModelType) {
  auto j = tiny_tokenizer_json();
  j["model"]["type"] = "WordPiece";
  expect_error(j, StatusCode::kUnimplemented, "WordPiece");
  j = tiny_tokenizer_json();
  j["model"]["byte_fallback"] = true;
  expect_error(j, StatusCode::kUnimplemented, "byte_fallback");
}

TEST(TokenizerErrors, BadMerges) {
  auto j = tiny_tokenizer_json();
  j["model"]["merges"].push_back("nospace");
  expect_error(j, StatusCode::kInvalidArgument, "model.merges[3]");
  j = tiny_tokenizer_json();
  j["model"]["merges"].push_back("q r");  // "qr" is not in the vocabulary
  expect_error(j, StatusCode::kInvalidArgument, "model.merges[3]");
  j = tiny_tokenizer_json();
  j["model"]["merges"].push_back(nlohmann::json::array({"a"}));
  expect_error(j, StatusCode::kInvalidArgument, "model.merges[3]");
  j = tiny_tokenizer_json();
  j["model"]["merges"] = "a b";
  expect_error(j, StatusCode::kInvalidArgument, "model.merges");
}

TEST(TokenizerErrors, BadAddedTokens) {
  auto j = tiny_tokenizer_json();
  j["added_tokens"].push_back({{"content", "<y>"}});
  expect_error(j, StatusCode::kInvalidArgument, "added_tokens[2]");
  j = tiny_tokenizer_json();
  j["added_tokens"].push_back({{"id", 300}});
  expect_error(j, StatusCode::kInvalidArgument, "added_tokens[2]");
  j = tiny_tokenizer_json();
  j["added_tokens"] = {{"oops", 1}};
  expect_error(j, StatusCode::kInvalidArgument, "added_tokens");
}

TEST(TokenizerErrors, UnsupportedPipelineStages) {
  auto j = tiny_tokenizer_json();
  j["normalizer"] = {{"type", "NFKC"}};
  expect_error(j, StatusCode::kUnimplemented, "normalizer");
  j = tiny_tokenizer_json();
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\s+";
  expect_error(j, StatusCode::kUnimplemented, "pre_tokenizer");
  j = tiny_tokenizer_json();
  j["pre_tokenizer"]["pretokenizers"][1]["add_prefix_space"] = true;
  expect_error(j, StatusCode::kUnimplemented, "pre_tokenizer");
  j = tiny_tokenizer_json();
  j.erase("pre_tokenizer");
  expect_error(j, StatusCode::kUnimplemented, "pre_tokenizer");
  j = tiny_tokenizer_json();
  j["decoder"] = {{"type", "WordPiece"}};
  expect_error(j, StatusCode::kUnimplemented, "decoder");
}

TEST(TokenizerErrors, FromJsonUsesTheLabel) {
  auto t = Tokenizer::from_json("{}", "my-label");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("my-label"), std::string::npos);
}

}  // namespace
}  // namespace vamba::testing
