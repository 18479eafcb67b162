// The streaming decoder never emits a partial UTF-8 character, and what it emits concatenates to
// the full decode, for every golden case and for random byte-token streams.
#include <gtest/gtest.h>

#include <random>

#include "engine/tokenizer/streaming_decoder.h"
#include "engine/tokenizer/utf8.h"
#include "tests/tokenizer/tokenizer_fixture.h"

namespace vamba::testing {
namespace {

// Streams `ids`; checks every chunk is valid UTF-8; returns the concatenation (with flush).
std::string stream_all(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip_special,
                       size_t* held_back_steps = nullptr) {
  StreamingDecoder dec(tok, skip_special);
  std::string all;
  for (int32_t id : ids) {
    const std::string chunk = dec.push(id);
    EXPECT_TRUE(tok::is_valid_utf8(chunk)) << "broken UTF-8 emitted: " << show(chunk);
    EXPECT_LE(dec.pending_bytes(), 3u);
    if (held_back_steps && dec.pending_bytes() > 0) ++*held_back_steps;
    all += chunk;
  }
  const std::string tail = dec.flush();
  EXPECT_TRUE(tok::is_valid_utf8(tail));
  EXPECT_EQ(dec.pending_bytes(), 0u);
  return all + tail;
}

TEST(StreamingDecoder, EveryCaseConcatenatesToTheFullDecode) {
  const Tokenizer* tok = golden_tokenizer();
  ASSERT_NE(tok, nullptr);
  size_t held_back_steps = 0;
  for (const auto& c : golden_cases()) {
    EXPECT_EQ(stream_all(*tok, c.ids, false, &held_back_steps), c.decoded)
        << "cases.jsonl line " << c.line;
    EXPECT_EQ(stream_all(*tok, c.ids, true), tok->decode(c.ids, true))
        << "cases.jsonl line " << c.line;
  }
  // The cases include CJK and emoji whose bytes span tokens: the hold-back path really ran.
  EXPECT_GT(held_back_steps, 0u);
}

TEST(StreamingDecoder, HoldsBackACharacterSplitAcrossTokens) {
  const Tokenizer* tok = golden_tokenizer();
  ASSERT_NE(tok, nullptr);
  // Spell "你😀" one byte token at a time: nothing may appear until each character is complete.
  const std::string text = "\xE4\xBD\xA0\xF0\x9F\x98\x80";
  std::vector<int32_t> byte_ids;
  for (char ch : text) {
    const auto ids = tok->encode(std::string(1, ch));
    ASSERT_EQ(ids.size(), 1u);
    byte_ids.push_back(ids[0]);
  }
  StreamingDecoder dec(*tok);
  EXPECT_EQ(dec.push(byte_ids[0]), "");
  EXPECT_EQ(dec.push(byte_ids[1]), "");
  EXPECT_EQ(dec.push(byte_ids[2]), "\xE4\xBD\xA0");
  EXPECT_EQ(dec.push(byte_ids[3]), "");
  EXPECT_EQ(dec.push(byte_ids[4]), "");
  EXPECT_EQ(dec.push(byte_ids[5]), "");
  EXPECT_EQ(dec.pending_bytes(), 3u);
  EXPECT_EQ(dec.push(byte_ids[6]), "\xF0\x9F\x98\x80");
  EXPECT_EQ(dec.flush(), "");
}

TEST(StreamingDecoder, InvalidBytesBecomeReplacementCharacters) {
  const Tokenizer* tok = golden_tokenizer();
  ASSERT_NE(tok, nullptr);
  auto byte_id = [&](uint8_t b) { return tok->encode(std::string(1, static_cast<char>(b)))[0]; };
  StreamingDecoder dec(*tok);
  // A lead byte followed by ASCII can never complete: U+FFFD, then the ASCII.
  EXPECT_EQ(dec.push(byte_id(0xE4)), "");
  EXPECT_EQ(dec.push(byte_id('a')),
            "\xEF\xBF\xBD"
            "a");
  // A stray continuation byte is invalid at once.
  EXPECT_EQ(dec.push(byte_id(0x80)), "\xEF\xBF\xBD");
  // A truncated character at the end of the stream is flushed as one U+FFFD.
  EXPECT_EQ(dec.push(byte_id(0xF0)), "");
  EXPECT_EQ(dec.push(byte_id(0x9F)), "");
  EXPECT_EQ(dec.flush(), "\xEF\xBF\xBD");
}

TEST(StreamingDecoder, RandomByteTokenStreamsMatchDecode) {
  const Tokenizer* tok = golden_tokenizer();
  ASSERT_NE(tok, nullptr);
  // Byte tokens plus multi-byte tokens of CJK/emoji text, shuffled into random orders, so streams
  // contain valid, truncated and invalid sequences at every alignment.
  std::vector<int32_t> pool;
  for (int b = 0; b < 256; ++b)
    pool.push_back(tok->encode(std::string(1, static_cast<char>(b)))[0]);
  for (const auto& c : golden_cases()) pool.insert(pool.end(), c.ids.begin(), c.ids.end());
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<int32_t> ids(1 + rng() % 40);
    for (auto& id : ids) id = pool[rng() % pool.size()];
    EXPECT_EQ(stream_all(*tok, ids, false), tok->decode(ids)) << "trial " << trial;
  }
}

TEST(StreamingDecoder, FlushResetsForReuse) {
  const Tokenizer* tok = golden_tokenizer();
  ASSERT_NE(tok, nullptr);
  StreamingDecoder dec(*tok);
  const auto ids = tok->encode("héllo 世界");
  std::string first;
  for (int32_t id : ids) first += dec.push(id);
  first += dec.flush();
  std::string second;
  for (int32_t id : ids) dec.push(id, &second);
  second += dec.flush();
  EXPECT_EQ(first, "héllo 世界");
  EXPECT_EQ(second, first);
}

}  // namespace
}  // namespace vamba::testing
