// Added tokens (<|im_start|>, <|video_pad|>, ...) are found in the text before normalization and
// BPE, the way HF's AddedVocabulary does: leftmost-longest, non-overlapping matches, then the
// per-token single_word / lstrip / rstrip rules. The matcher is a byte trie entered only at bytes
// that can start a token, so text without '<' costs one table lookup per byte.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vamba::tok {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false;
  bool single_word = false;  // match only where no word character touches either end
  bool lstrip = false;       // the match swallows the whitespace before it
  bool rstrip = false;       // ... and after it
  bool normalized = false;   // matched against normalized text instead of the raw text
};

class AddedTokenMatcher {
 public:
  struct Match {
    size_t begin = 0;  // byte range in the text, whitespace swallowed by lstrip/rstrip included
    size_t end = 0;
    int32_t id = -1;
  };

  // Tokens with empty content are ignored. A later token with the same content replaces an earlier.
  void add(const AddedToken& token);
  bool empty() const { return tokens_.empty(); }

  // All matches in `text`, in order (out is cleared first). When skip_special is set, tokens marked
  // special are not matched (their text is left to BPE).
  void find_all(std::string_view text, bool skip_special, std::vector<Match>* out) const;

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> kids;  // byte -> node index
    int32_t token = -1;                             // index into tokens_ when a token ends here
  };
  int32_t child(int32_t node, uint8_t b) const;

  std::vector<Node> nodes_{Node{}};
  std::vector<AddedToken> tokens_;
  std::array<bool, 256> starts_{};
};

}  // namespace vamba::tok
