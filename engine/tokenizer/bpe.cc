#include "engine/tokenizer/bpe.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>

namespace vamba::tok {
namespace {
std::atomic<uint64_t> next_bpe_id{1};  // Bpe ids tag the per-thread caches
}  // namespace

// ---------------------------------------------------------------------------------------------
// MergeTable

void MergeTable::reserve(size_t n) {
  size_t cap = 16;
  while (cap * 2 < n * 3) cap <<= 1;  // load factor <= 2/3 keeps probe chains short
  if (cap <= slots_.size()) return;
  std::vector<Entry> old = std::move(slots_);
  slots_.assign(cap, Entry{});
  mask_ = cap - 1;
  shift_ = 64 - __builtin_ctzll(cap);
  size_ = 0;
  for (const Entry& e : old) {
    if (e.key == kEmpty) continue;
    insert(static_cast<int32_t>(e.key >> 32), static_cast<int32_t>(e.key & 0xFFFFFFFFu), e.rank,
           e.merged);
  }
}

void MergeTable::grow() { reserve(std::max<size_t>(16, slots_.size())); }

void MergeTable::insert(int32_t left, int32_t right, int32_t rank, int32_t merged) {
  if ((size_ + 1) * 3 > slots_.size() * 2) grow();
  const uint64_t key = pack(left, right);
  for (size_t i = slot_of(key);; i = (i + 1) & mask_) {
    Entry& e = slots_[i];
    if (e.key == key) {
      e.rank = rank;
      e.merged = merged;
      return;
    }
    if (e.key == kEmpty) {
      e = Entry{key, rank, merged};
      ++size_;
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Word cache: 64 independently locked shards so concurrent requests rarely contend. A shard that
// fills up is simply cleared: the cache only saves work, it never changes results.

class Bpe::Cache {
 public:
  static constexpr size_t kMaxWordBytes = 64;  // longer words are rare and not worth keeping
  static constexpr size_t kShardCapacity = 4096;

  bool lookup(std::string_view word, size_t hash, std::vector<int32_t>* out) {
    Shard& s = shards_[hash % kShards];
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.map.find(word);
    if (it == s.map.end()) return false;
    out->insert(out->end(), it->second.begin(), it->second.end());
    return true;
  }

  void insert(std::string_view word, size_t hash, const int32_t* ids, size_t n) {
    Shard& s = shards_[hash % kShards];
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.map.size() >= kShardCapacity) s.map.clear();
    s.map.try_emplace(std::string(word), ids, ids + n);
  }

 private:
  static constexpr size_t kShards = 64;
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> map;
  };
  std::array<Shard, kShards> shards_;
};

// ---------------------------------------------------------------------------------------------
// Bpe

Bpe::Bpe(std::array<int32_t, 256> byte_ids, MergeTable merges, const TokenIndex* vocab,
         bool ignore_merges)
    : byte_ids_(byte_ids),
      merges_(std::move(merges)),
      vocab_(vocab),
      ignore_merges_(ignore_merges),
      cache_(std::make_unique<Cache>()),
      id_(next_bpe_id.fetch_add(1)) {}

Bpe::~Bpe() = default;

namespace {

// A fast hash for short byte strings (words average ~5 bytes): 8 bytes at a time, multiply-xor.
inline uint64_t hash_word(std::string_view w) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (w.size() * 0xFF51AFD7ED558CCDull);
  const char* p = w.data();
  size_t n = w.size();
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = (h ^ v) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t v = 0;
    std::memcpy(&v, p, n);
    h = (h ^ v) * 0x94D049BB133111EBull;
    h ^= h >> 29;
  }
  return h | 1;  // never 0: 0 marks an empty slot
}

// Level-1 word cache: per thread, direct-mapped, no locks. One 64-byte line per entry, for words up
// to 22 bytes that encode to at most 8 ids (nearly all). A table belongs to one Bpe at a time (by
// a process-unique id, never a reusable address); another Bpe on the same thread resets it.
struct L1Entry {
  uint64_t tag;  // hash_word(), 0 = empty
  uint8_t key_len;
  uint8_t n_ids;
  char key[22];
  int32_t ids[8];
};
static_assert(sizeof(L1Entry) == 64);

struct L1Table {
  static constexpr size_t kEntries = 4096;  // 256 KiB per thread
  uint64_t owner = 0;
  std::array<L1Entry, kEntries> entries;
};

L1Table& l1_table(uint64_t owner) {
  thread_local std::unique_ptr<L1Table> table;
  if (!table) table = std::make_unique<L1Table>();
  if (table->owner != owner) {
    std::memset(table->entries.data(), 0, sizeof(table->entries));
    table->owner = owner;
  }
  return *table;
}

}  // namespace

void Bpe::encode_word(std::string_view word, std::vector<int32_t>* out) const {
  if (word.size() == 1) {
    const int32_t id = byte_ids_[static_cast<uint8_t>(word[0])];
    if (id >= 0) out->push_back(id);
    return;
  }
  if (word.size() > Cache::kMaxWordBytes) {
    encode_word_uncached(word, out);
    return;
  }
  const uint64_t hash = hash_word(word);
  const bool l1_ok = word.size() <= sizeof(L1Entry::key);
  L1Entry* e = nullptr;
  if (l1_ok) {
    e = &l1_table(id_).entries[hash & (L1Table::kEntries - 1)];
    if (e->tag == hash && e->key_len == word.size() &&
        std::memcmp(e->key, word.data(), word.size()) == 0) {
      for (uint8_t k = 0; k < e->n_ids; ++k) out->push_back(e->ids[k]);
      return;
    }
  }
  const size_t start = out->size();
  if (!cache_->lookup(word, hash, out)) {
    encode_word_uncached(word, out);
    cache_->insert(word, hash, out->data() + start, out->size() - start);
  }
  const size_t n = out->size() - start;
  if (e && n <= 8) {
    e->tag = hash;
    e->key_len = static_cast<uint8_t>(word.size());
    e->n_ids = static_cast<uint8_t>(n);
    std::memcpy(e->key, word.data(), word.size());
    std::memcpy(e->ids, out->data() + start, n * sizeof(int32_t));
  }
}

namespace {

struct Symbol {
  int32_t id;
  int32_t prev;  // index of the previous live symbol, -1 at the start
  int32_t next;  // index of the next live symbol, -1 at the end
};

struct Candidate {
  int32_t rank;
  int32_t pos;   // index of the left symbol (= its first byte: a stable left-to-right order)
  int32_t left;  // ids when pushed; the candidate is stale once either side has changed
  int32_t right;
  int32_t merged;
};

// std::*_heap build max-heaps; "greater" puts the lowest (rank, pos) on top.
struct CandidateAfter {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  }
};

}  // namespace

void Bpe::encode_word_uncached(std::string_view word, std::vector<int32_t>* out) const {
  // Symbol indices are 32-bit. A single piece past 1 GiB (a gigabyte of one letter) is merged in
  // 1 GiB slices: never a crash, at worst a different split at the slice seams.
  constexpr size_t kMaxPiece = size_t{1} << 30;
  if (word.size() > kMaxPiece) {
    for (size_t at = 0; at < word.size(); at += kMaxPiece) {
      encode_word_uncached(word.substr(at, kMaxPiece), out);
    }
    return;
  }
  if (ignore_merges_ && vocab_) {
    if (const int32_t id = vocab_->find(word); id >= 0) {
      out->push_back(id);
      return;
    }
  }
  thread_local std::vector<Symbol> syms;
  thread_local std::vector<Candidate> heap;
  syms.clear();
  heap.clear();
  for (char ch : word) {
    const int32_t id = byte_ids_[static_cast<uint8_t>(ch)];
    if (id < 0) continue;  // a byte the vocabulary cannot spell: dropped (no unk token)
    const auto n = static_cast<int32_t>(syms.size());
    syms.push_back({id, n - 1, -1});
    if (n > 0) syms[n - 1].next = n;
  }
  const auto push_pair = [&](int32_t pos) {
    if (pos < 0) return;
    const int32_t nx = syms[pos].next;
    if (nx < 0) return;
    if (const MergeTable::Entry* e = merges_.find(syms[pos].id, syms[nx].id)) {
      heap.push_back({e->rank, pos, syms[pos].id, syms[nx].id, e->merged});
      std::push_heap(heap.begin(), heap.end(), CandidateAfter{});
    }
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(syms.size()); ++i) {
    if (const MergeTable::Entry* e = merges_.find(syms[i].id, syms[i + 1].id)) {
      heap.push_back({e->rank, i, syms[i].id, syms[i + 1].id, e->merged});
    }
  }
  std::make_heap(heap.begin(), heap.end(), CandidateAfter{});
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), CandidateAfter{});
    const Candidate c = heap.back();
    heap.pop_back();
    Symbol& left = syms[c.pos];
    if (left.id != c.left || left.next < 0) continue;  // left side merged meanwhile (or removed)
    Symbol& right = syms[left.next];
    if (right.id != c.right) continue;  // right side merged with its own neighbour meanwhile
    left.id = c.merged;
    left.next = right.next;
    if (right.next >= 0) syms[right.next].prev = c.pos;
    right.id = -1;  // dead: no candidate can match it again
    push_pair(left.prev);
    push_pair(c.pos);
  }
  for (int32_t i = syms.empty() ? -1 : 0; i >= 0; i = syms[i].next) out->push_back(syms[i].id);
}

void Bpe::encode_word_naive(std::string_view word, std::vector<int32_t>* out) const {
  if (ignore_merges_ && vocab_) {
    if (const int32_t id = vocab_->find(word); id >= 0) {
      out->push_back(id);
      return;
    }
  }
  std::vector<int32_t> ids;
  for (char ch : word) {
    const int32_t id = byte_ids_[static_cast<uint8_t>(ch)];
    if (id >= 0) ids.push_back(id);
  }
  while (ids.size() > 1) {
    int32_t best_rank = std::numeric_limits<int32_t>::max();
    size_t best = 0;
    int32_t merged = -1;
    for (size_t i = 0; i + 1 < ids.size(); ++i) {
      const MergeTable::Entry* e = merges_.find(ids[i], ids[i + 1]);
      if (e && e->rank < best_rank) {
        best_rank = e->rank;
        best = i;
        merged = e->merged;
      }
    }
    if (merged < 0) break;
    ids[best] = merged;
    ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(best) + 1);
  }
  out->insert(out->end(), ids.begin(), ids.end());
}

}  // namespace vamba::tok
