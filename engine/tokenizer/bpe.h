// Byte-level BPE: turns one pre-tokenized piece (raw bytes) into vocabulary ids by applying merges
// lowest rank first, leftmost first among equal ranks (HF `tokenizers` order).
//
// The fast path keeps the word as a linked list of symbols and a min-heap of candidate merges keyed
// by (rank, position); stale candidates are dropped on pop. Results are memoized per word, since
// natural text repeats a small set of words and a merge-table probe is a cache miss: first in a
// lock-free per-thread direct-mapped table, then in a sharded table shared by all threads.
// encode_word_naive() is the textbook algorithm (rescan every adjacent pair after each merge) kept
// as a test oracle and as the benchmark baseline.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/tokenizer/token_index.h"

namespace vamba::tok {

// (left id, right id) -> (rank, merged id) in one flat open-addressing table.
class MergeTable {
 public:
  struct Entry {
    uint64_t key = kEmpty;
    int32_t rank = 0;
    int32_t merged = 0;
  };

  void reserve(size_t n);
  // Later inserts of the same pair replace earlier ones (as HF's map collection does).
  void insert(int32_t left, int32_t right, int32_t rank, int32_t merged);
  const Entry* find(int32_t left, int32_t right) const {
    if (slots_.empty()) return nullptr;
    const uint64_t key = pack(left, right);
    for (size_t i = slot_of(key);; i = (i + 1) & mask_) {
      const Entry& e = slots_[i];
      if (e.key == key) return &e;
      if (e.key == kEmpty) return nullptr;
    }
  }
  size_t size() const { return size_; }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  static uint64_t pack(int32_t a, int32_t b) {
    return (uint64_t{static_cast<uint32_t>(a)} << 32) | static_cast<uint32_t>(b);
  }
  size_t slot_of(uint64_t key) const { return (key * 0x9E3779B97F4A7C15ull) >> shift_; }
  void grow();

  std::vector<Entry> slots_;
  size_t mask_ = 0;
  int shift_ = 64;
  size_t size_ = 0;
};

// Hash for heterogeneous (string_view) lookups in string-keyed maps.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringIdMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

class Bpe {
 public:
  // byte_ids[b]: id of the single-byte token for byte b (-1 when the vocabulary lacks it: such
  // bytes are dropped, as HF does without an unk token). vocab (raw token bytes -> id) is consulted
  // only with ignore_merges (a word that is a token is that token) and must outlive the Bpe.
  Bpe(std::array<int32_t, 256> byte_ids, MergeTable merges, const TokenIndex* vocab,
      bool ignore_merges);
  ~Bpe();

  // Appends the ids of `word` to `out`. Thread-safe.
  void encode_word(std::string_view word, std::vector<int32_t>* out) const;
  // The same without the cache (what a cache miss runs).
  void encode_word_uncached(std::string_view word, std::vector<int32_t>* out) const;
  // The naive reference: O(n^2) rescans, no cache.
  void encode_word_naive(std::string_view word, std::vector<int32_t>* out) const;

  const MergeTable& merges() const { return merges_; }

 private:
  class Cache;

  std::array<int32_t, 256> byte_ids_;
  MergeTable merges_;
  const TokenIndex* vocab_;
  bool ignore_merges_;
  std::unique_ptr<Cache> cache_;  // level 2: shared by all threads
  uint64_t id_;                   // owner tag of the per-thread level-1 caches
};

}  // namespace vamba::tok
