// Seeded random corruption of a small valid safetensors file: flipped, truncated, inserted and
// deleted bytes in the header (and length field). The reader must never crash or read out of
// bounds (run under ASan/UBSan): it either loads a self-consistent file or returns an error.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "engine/model/safetensors.h"
#include "tests/model/model_test_util.h"

namespace vamba {
namespace {

std::string valid_file_bytes() {
  testing::TempDir dir;
  const std::string path = dir.file("v.safetensors");
  std::vector<std::pair<std::string, Tensor>> tensors;
  tensors.emplace_back("a", Tensor::from_floats({2, 3}, {1, 2, 3, 4, 5, 6}).value());
  tensors.emplace_back("b", Tensor::from_floats({3}, {1, 2, 3}, DType::kBF16).value());
  tensors.emplace_back("c", Tensor::from_int64({2}, {7, 8}).value());
  tensors.emplace_back("d", Tensor::zeros({0}, DType::kF16).value());
  EXPECT_TRUE(write_safetensors(path, tensors, {{"format", "pt"}}).ok());
  return testing::read_bytes(path);
}

// Loads `bytes` from a heap copy sized exactly (so ASan catches any read past the end) and, when it
// loads, touches every tensor byte.
void check_one(const std::string& bytes, size_t* loaded, size_t* failed) {
  auto owner = std::shared_ptr<uint8_t[]>(new uint8_t[bytes.size() + 1]);
  std::memcpy(owner.get(), bytes.data(), bytes.size());
  auto file = SafetensorsFile::from_buffer("fuzz.safetensors", owner, owner.get(), bytes.size());
  if (!file.ok()) {
    ASSERT_FALSE(file.status().message().empty());
    ASSERT_NE(file.status().message().find("fuzz.safetensors"), std::string::npos)
        << file.status().to_string();
    ++*failed;
    return;
  }
  ++*loaded;
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  const size_t data_size = bytes.size() - 8 - header_len;
  unsigned sum = 0;
  for (const auto& e : (*file)->entries()) {
    ASSERT_LE(e.begin, e.end);
    ASSERT_LE(e.end, data_size);
    ASSERT_EQ(static_cast<size_t>(shape_numel(e.shape)) * dtype_size(e.dtype), e.end - e.begin);
    auto t = (*file)->tensor(e.name);
    ASSERT_TRUE(t.ok());
    const auto* p = static_cast<const uint8_t*>(t->raw_data());
    for (size_t i = 0; i < t->nbytes(); ++i) sum += p[i];
  }
  (void)sum;
}

TEST(SafetensorsCorruption, RandomHeaderMutationsNeverCrash) {
  const std::string base = valid_file_bytes();
  ASSERT_GT(base.size(), 16u);
  uint64_t header_len = 0;
  std::memcpy(&header_len, base.data(), 8);
  const size_t header_end = 8 + header_len;

  std::mt19937_64 rng(20240611);
  size_t loaded = 0, failed = 0;
  const char interesting[] = "{}[]\",:-0123456789eE.tfnu\\ \x00\xff";
  for (int iter = 0; iter < 5000; ++iter) {
    std::string bytes = base;
    const int mutations = 1 + static_cast<int>(rng() % 4);
    for (int m = 0; m < mutations; ++m) {
      // Mostly inside the length field and header; sometimes anywhere.
      const size_t span = (rng() % 8 == 0) ? bytes.size() : std::min(bytes.size(), header_end);
      const size_t pos = span == 0 ? 0 : rng() % span;
      switch (rng() % 6) {
        case 0:  // flip a bit
          if (pos < bytes.size()) bytes[pos] = static_cast<char>(bytes[pos] ^ (1u << (rng() % 8)));
          break;
        case 1:  // overwrite with a JSON-significant byte
          if (pos < bytes.size()) bytes[pos] = interesting[rng() % (sizeof(interesting) - 1)];
          break;
        case 2:  // insert
          bytes.insert(bytes.begin() + std::min(pos, bytes.size()),
                       interesting[rng() % (sizeof(interesting) - 1)]);
          break;
        case 3:  // delete
          if (pos < bytes.size()) bytes.erase(pos, 1);
          break;
        case 4:  // truncate
          bytes.resize(pos);
          break;
        case 5:  // change a digit (offsets and shapes) to another digit
          for (size_t i = pos; i < std::min(bytes.size(), header_end); ++i) {
            if (bytes[i] >= '0' && bytes[i] <= '9') {
              bytes[i] = static_cast<char>('0' + rng() % 10);
              break;
            }
          }
          break;
      }
    }
    check_one(bytes, &loaded, &failed);
    if (::testing::Test::HasFatalFailure()) {
      FAIL() << "iteration " << iter;
    }
  }
  EXPECT_EQ(loaded + failed, 5000u);
  EXPECT_GT(failed, 0u);
  std::printf("random corruption: %zu loaded, %zu rejected\n", loaded, failed);
}

// Every proper prefix of a valid file is rejected (the last tensor ends at the end of the file);
// the whole file loads.
TEST(SafetensorsCorruption, EveryTruncationIsRejected) {
  const std::string base = valid_file_bytes();
  size_t loaded = 0, failed = 0;
  for (size_t n = 0; n < base.size(); ++n) {
    check_one(base.substr(0, n), &loaded, &failed);
    ASSERT_FALSE(::testing::Test::HasFatalFailure()) << "prefix " << n;
    ASSERT_EQ(loaded, 0u) << "prefix of " << n << " bytes loaded";
  }
  check_one(base, &loaded, &failed);
  EXPECT_EQ(loaded, 1u);
}

}  // namespace
}  // namespace vamba
