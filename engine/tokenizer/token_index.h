// Byte string -> token id lookups over the tokenizer's own id -> bytes table: one flat
// open-addressing array of ids, no per-entry allocation (the map has ~151k entries and is built on
// every load).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vamba::tok {

class TokenIndex {
 public:
  // Indexes strings[id] for every id with include(id). Later ids win over earlier duplicates.
  // `strings` must outlive the index and not change.
  template <typename Include>
  void build(const std::vector<std::string>* strings, Include&& include) {
    strings_ = strings;
    size_t cap = 16;
    while (cap < strings->size() * 2) cap <<= 1;
    slots_.assign(cap, -1);
    mask_ = cap - 1;
    for (size_t id = 0; id < strings->size(); ++id) {
      if (include(id)) insert(static_cast<int32_t>(id));
    }
  }

  // -1 when absent.
  int32_t find(std::string_view key) const {
    if (slots_.empty()) return -1;
    for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
      const int32_t id = slots_[i];
      if (id < 0) return -1;
      if ((*strings_)[id] == key) return id;
    }
  }

 private:
  static size_t hash(std::string_view s) { return std::hash<std::string_view>{}(s); }
  void insert(int32_t id) {
    const std::string_view key = (*strings_)[id];
    for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i] < 0 || (*strings_)[slots_[i]] == key) {
        slots_[i] = id;
        return;
      }
    }
  }

  const std::vector<std::string>* strings_ = nullptr;
  std::vector<int32_t> slots_;
  size_t mask_ = 0;
};

}  // namespace vamba::tok
