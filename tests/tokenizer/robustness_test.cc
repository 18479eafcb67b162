// Any input encodes (invalid UTF-8, huge runs, concurrent callers), the fast BPE agrees with the
// naive oracle on random text, and the bytes of the ids are exactly the NFC of the input.
#include <gtest/gtest.h>
#include <utf8proc.h>

#include <cstdlib>
#include <random>
#include <thread>

#include "engine/tokenizer/pretokenizer.h"
#include "engine/tokenizer/unicode.h"
#include "engine/tokenizer/utf8.h"
#include "tests/tokenizer/tokenizer_fixture.h"

namespace vamba::testing {
namespace {

std::string bytes_of(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += tok.token_bytes(id);
  return s;
}

// Random text from pieces that stress every regex alternative, NFC and multi-byte splits.
std::string random_text(std::mt19937& rng, size_t pieces) {
  static const std::vector<std::string> atoms = {"a",
                                                 "Z",
                                                 "hello",
                                                 " world",
                                                 "'s",
                                                 "'LL",
                                                 "'re",
                                                 "’",
                                                 "1",
                                                 "42",
                                                 " ",
                                                 "  ",
                                                 "\t",
                                                 "\n",
                                                 "\r\n",
                                                 "\r",
                                                 " \n ",
                                                 "\u00a0",
                                                 "\u3000",
                                                 "\u2009",
                                                 ".",
                                                 "!!",
                                                 "?",
                                                 "—",
                                                 "“",
                                                 "你",
                                                 "好",
                                                 "视频",
                                                 "😀",
                                                 "👍🏽",
                                                 "👨\u200d👩\u200d👧",
                                                 "🇺🇸",
                                                 "é",
                                                 "e\u0301",
                                                 "\u0301",
                                                 "ह\u093f",
                                                 "\u1100\u1161",
                                                 "한",
                                                 "ﬀ",
                                                 "ſ",
                                                 "\u017f",
                                                 "<",
                                                 "|",
                                                 ">",
                                                 "_",
                                                 "\x80",
                                                 "\xe4\xbd",
                                                 "\xf0\x9f",
                                                 "\xff",
                                                 "\xc0\xaf",
                                                 "\xed\xa0\x80",
                                                 "x=1;",
                                                 "\x01",
                                                 "\x7f",
                                                 "\u0085",
                                                 "\u2028"};
  std::string s;
  for (size_t i = 0; i < pieces; ++i) s += atoms[rng() % atoms.size()];
  return s;
}

TEST(TokenizerRobustness, FastMatchesNaiveOnRandomText) {
  const Tokenizer* tok = golden_tokenizer();
  ASSERT_NE(tok, nullptr);
  std::mt19937 rng(42);
  for (int trial = 0; trial < 400; ++trial) {
    const std::string text = random_text(rng, 1 + rng() % 30);
    EXPECT_EQ(tok->encode(text), tok->encode_reference(text)) << show(text);
  }
}

TEST(TokenizerRobustness, IdsSpellTheNormalizedInputExactly) {
  const Tokenizer* tok = golden_tokenizer();
  ASSERT_NE(tok, nullptr);
  std::mt19937 rng(7);
  for (int trial = 0; trial < 400; ++trial) {
    const std::string text = random_text(rng, 1 + rng() % 30);
    std::string nfc;
    tok::append_nfc(text, &nfc);
    const auto ids = tok->encode(text);
    EXPECT_EQ(bytes_of(*tok, ids), nfc) << show(text);
    EXPECT_EQ(tok->decode(ids), tok::utf8_lossy(nfc)) << show(text);
  }
}

TEST(TokenizerRobustness, RandomBytesNeverCrashAndRoundTrip) {
  const Tokenizer* tok = golden_tokenizer();
  ASSERT_NE(tok, nullptr);
  std::mt19937 rng(99);
  for (int trial = 0; trial < 300; ++trial) {
    std::string text(rng() % 64, '\0');
    for (auto& ch : text) ch = static_cast<char>(rng() & 0xFF);
    std::string nfc;
    tok::append_nfc(text, &nfc);
    const auto ids = tok->encode(text);
    EXPECT_EQ(bytes_of(*tok, ids), nfc);
    EXPECT_TRUE(tok::is_valid_utf8(tok->decode(ids)));
  }
}

TEST(TokenizerRobustness, NfcComposesAndKeepsInvalidBytes) {
  std::string out;
  tok::append_nfc("e\u0301 \xff a\u0308\u0301 \u1100\u1161\u11a8 ok", &out);
  EXPECT_EQ(out, "\u00e9 \xff \u00e4\u0301 \uac01 ok");
  out.clear();
  // A combining mark right after an invalid byte has nothing to compose with.
  tok::append_nfc("\xff\u0301", &out);
  EXPECT_EQ(out, "\xff\u0301");
}

// NFC straight from utf8proc on the whole string: the oracle for append_nfc's quick-check windows.
std::string utf8proc_nfc(const std::string& s) {
  utf8proc_uint8_t* dst = nullptr;
  const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                              static_cast<utf8proc_ssize_t>(s.size()), &dst,
                              static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  std::string out = n >= 0 ? std::string(reinterpret_cast<char*>(dst), n) : "<error>";
  std::free(dst);
  return out;
}

TEST(TokenizerRobustness, NfcMatchesUtf8procForEveryCodePointInContext) {
  // Every scalar value between starters and combining characters it might compose or reorder
  // with, so a wrong entry in the inert table shows up.
  const std::vector<std::string> before = {"", "a", "e", "\u1100", "\uac00", "\u0b47", "\u0301"};
  const std::vector<std::string> after = {"",       "\u0301", "\u0308\u0323", "\u1161", "\u11a8",
                                          "\u0b3e", "x"};
  int failures = 0;
  for (uint32_t cp = 0; cp < 0x110000 && failures < 20; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    // utf8proc 2.8 wrongly composes an LV syllable with U+11A7 (the T base, which is no trailing
    // consonant); the standard (and HF's Rust normalizer) leave it alone. Checked separately below.
    if (cp == 0x11A7) continue;
    // All of the BMP; above it, the blocks with marks and compositions plus a sparse sample.
    if (cp > 0xFFFF && !(cp >= 0x11000 && cp <= 0x11FFF) && !(cp >= 0x1D100 && cp <= 0x1D1FF) &&
        (cp % 97) != 0) {
      continue;
    }
    std::string c;
    tok::append_utf8(cp, &c);
    for (size_t k = 0; k < before.size(); ++k) {
      const std::string s = before[k] + c + after[(k + cp) % after.size()];
      std::string got;
      tok::append_nfc(s, &got);
      const std::string want = utf8proc_nfc(s);
      if (got != want) {
        ADD_FAILURE() << "U+" << std::hex << cp << " in " << show(s) << ": " << show(got)
                      << " != " << show(want);
        ++failures;
      }
      // The encoder's shortcut: an inert prefix kept as is, the rest normalized.
      const size_t inert = tok::nfc_inert_prefix(s);
      std::string split = s.substr(0, inert);
      tok::append_nfc(s.substr(inert), &split);
      if (split != want) {
        ADD_FAILURE() << "inert prefix " << inert << " of " << show(s);
        ++failures;
      }
    }
  }
  EXPECT_EQ(failures, 0);
  std::string hangul;
  tok::append_nfc("\uac00\u11a7 \uac00\u11a8", &hangul);
  EXPECT_EQ(hangul, "\uac00\u11a7 \uac01");
}

TEST(TokenizerRobustness, AsciiClassTableMatchesUtf8proc) {
  for (uint32_t cp = 0; cp < 128; ++cp) {
    EXPECT_EQ(tok::kAsciiClass[cp], tok::char_class_slow(cp)) << "U+" << std::hex << cp;
  }
  // \s is Unicode White_Space (Oniguruma): NEL, NBSP, ideographic space, line/paragraph separators;
  // not the zero-width space (a format character) nor the ASCII file/group separators.
  for (uint32_t cp :
       {0x85u, 0xA0u, 0x1680u, 0x2000u, 0x200Au, 0x2028u, 0x2029u, 0x202Fu, 0x205Fu, 0x3000u}) {
    EXPECT_EQ(tok::char_class(cp), tok::kClassSpace) << "U+" << std::hex << cp;
  }
  for (uint32_t cp : {0x200Bu, 0x1Cu, 0x1Fu, 0xFEFFu}) {
    EXPECT_EQ(tok::char_class(cp), 0) << "U+" << std::hex << cp;
  }
  EXPECT_EQ(tok::char_class(0x4F60), tok::kClassLetter);  // 你
  EXPECT_EQ(tok::char_class(0x0663), tok::kClassNumber);  // Arabic-Indic three
  EXPECT_EQ(tok::char_class(0x2167), tok::kClassNumber);  // Roman numeral eight (Nl)
  EXPECT_EQ(tok::char_class(0x0301), 0);                  // combining acute (Mn)
}

TEST(TokenizerRobustness, LongRunsEncodeAndMatchTheOracle) {
  const Tokenizer* tok = golden_tokenizer();
  ASSERT_NE(tok, nullptr);
  for (const std::string unit : {"a", " ", "\n", "1", "!", "你", "😀", "ab "}) {
    std::string text;
    while (text.size() < 3000) text += unit;
    const auto ids = tok->encode(text);
    EXPECT_EQ(ids, tok->encode_reference(text)) << show(unit);
    EXPECT_EQ(tok->decode(ids), text);
  }
  // A megabyte single piece stays fast (heap merge, not the quadratic scan).
  const std::string big(1 << 20, 'a');
  EXPECT_EQ(tok->decode(tok->encode(big)), big);
}

TEST(TokenizerRobustness, ConcurrentEncodesAgree) {
  const Tokenizer* tok = golden_tokenizer();
  ASSERT_NE(tok, nullptr);
  const auto& cases = golden_cases();
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round) {
        for (size_t i = t; i < cases.size(); i += 1 + t) {
          if (tok->encode(cases[i].text) != cases[i].ids) ++mismatches[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

std::vector<std::string> split(const std::string& text) {
  std::vector<tok::PieceSpan> spans;
  tok::split_qwen2(text, &spans);
  std::vector<std::string> out;
  size_t expect_begin = 0;
  for (const auto& s : spans) {
    EXPECT_EQ(s.begin, expect_begin) << "pieces must tile the text";
    EXPECT_LT(s.begin, s.end);
    expect_begin = s.end;
    out.push_back(text.substr(s.begin, s.end - s.begin));
  }
  EXPECT_EQ(expect_begin, text.size());
  return out;
}

using Pieces = std::vector<std::string>;

TEST(Qwen2PreTokenizer, RegexAlternatives) {
  // Contractions (case-insensitive, ſ folds to s) win over letters.
  EXPECT_EQ(split("it's"), (Pieces{"it", "'s"}));
  EXPECT_EQ(split("'sam"), (Pieces{"'s", "am"}));
  EXPECT_EQ(split("WE'RE"), (Pieces{"WE", "'RE"}));
  EXPECT_EQ(split("'\u017f"), (Pieces{"'\u017f"}));
  EXPECT_EQ(split("'x"), (Pieces{"'x"}));
  // One non-letter, non-digit, non-newline character may lead a letter run.
  EXPECT_EQ(split(" hello\thi\u00a0yo"), (Pieces{" hello", "\thi", "\u00a0yo"}));
  EXPECT_EQ(split("(abc"), (Pieces{"(abc"}));
  EXPECT_EQ(split("\nabc"), (Pieces{"\n", "abc"}));
  // Digits one at a time.
  EXPECT_EQ(split("a123"), (Pieces{"a", "1", "2", "3"}));
  // Punctuation runs take one leading space and trailing newlines.
  EXPECT_EQ(split("x ...\n\ny"), (Pieces{"x", " ...\n\n", "y"}));
  EXPECT_EQ(split("x\t..."), (Pieces{"x", "\t", "..."}));
  // Whitespace: through the last newline; else all but the last space before a non-space.
  EXPECT_EQ(split("a  \n  b"), (Pieces{"a", "  \n", " ", " b"}));
  EXPECT_EQ(split("a    b"), (Pieces{"a", "   ", " b"}));
  EXPECT_EQ(split("a \tb"), (Pieces{"a", " ", "\tb"}));
  EXPECT_EQ(split("a   "), (Pieces{"a", "   "}));
  EXPECT_EQ(split("a  1"), (Pieces{"a", " ", " ", "1"}));
  EXPECT_EQ(split("a\r\n\r\n  "), (Pieces{"a", "\r\n\r\n", "  "}));
  // Marks are neither letters nor digits.
  EXPECT_EQ(split("ह\u093fन"), (Pieces{"ह", "\u093fन"}));
  // Unicode whitespace counts as \s (and so is split like ASCII spaces).
  EXPECT_EQ(split("a\u3000\u3000b"), (Pieces{"a", "\u3000", "\u3000b"}));
  EXPECT_EQ(split("a\u2028\u0085b"), (Pieces{"a", "\u2028", "\u0085b"}));
  EXPECT_EQ(split("a\u00a0!"), (Pieces{"a", "\u00a0", "!"}));
  EXPECT_EQ(split("a\u200b!"), (Pieces{"a", "\u200b!"}));
  // Invalid bytes behave like punctuation.
  EXPECT_EQ(split("a\xff\xfe b"), (Pieces{"a", "\xff\xfe", " b"}));
  EXPECT_EQ(split("\x80z"), (Pieces{"\x80z"}));
  EXPECT_TRUE(split("").empty());
}

}  // namespace
}  // namespace vamba::testing
