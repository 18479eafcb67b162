// The caching logic, on the CPU with a counting backend: what the CUDA allocator does on the GPU.
#include <gtest/gtest.h>

#include <cstdlib>

#include "engine/core/allocator.h"

namespace vamba {
namespace {

int g_raw_allocs = 0;
int g_raw_frees = 0;
bool g_fail_next = false;

StatusOr<void*> counting_alloc(size_t n) {
  if (g_fail_next) {
    g_fail_next = false;
    return resource_exhausted("simulated out of memory");
  }
  ++g_raw_allocs;
  return std::malloc(n);
}
Status counting_free(void* p) {
  ++g_raw_frees;
  std::free(p);
  return ok_status();
}

class CachingAllocatorTest : public ::testing::Test {
 protected:
  void SetUp() override { g_raw_allocs = g_raw_frees = 0; }
};

TEST_F(CachingAllocatorTest, ReusesFreedBlocks) {
  CachingAllocator a(Device::cpu(), &counting_alloc, &counting_free);
  auto p = a.allocate(1000);
  ASSERT_TRUE(p.ok());
  a.deallocate(*p, 1000);
  auto q = a.allocate(900);  // same 1024-byte class
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q, *p);
  EXPECT_EQ(g_raw_allocs, 1);
  EXPECT_EQ(a.stats().cache_hits, 1u);
  a.deallocate(*q, 900);
  EXPECT_EQ(a.stats().in_use_bytes, 0u);
  EXPECT_EQ(a.stats().reserved_bytes, 1024u);
  a.release_cached();
  EXPECT_EQ(g_raw_frees, 1);
  EXPECT_EQ(a.stats().reserved_bytes, 0u);
}

TEST_F(CachingAllocatorTest, SteadyStateMakesNoDriverCalls) {
  CachingAllocator a(Device::cpu(), &counting_alloc, &counting_free);
  for (int step = 0; step < 50; ++step) {
    std::vector<std::pair<void*, size_t>> live;
    for (size_t n : {size_t{3} << 20, size_t{4096}, size_t{77}, size_t{5} << 20}) {
      auto p = a.allocate(n);
      ASSERT_TRUE(p.ok());
      live.emplace_back(*p, n);
    }
    for (auto& [p, n] : live) a.deallocate(p, n);
  }
  EXPECT_EQ(g_raw_allocs, 4);
  EXPECT_EQ(a.stats().peak_in_use_bytes, a.stats().reserved_bytes);
}

TEST_F(CachingAllocatorTest, FreesCacheAndRetriesOnOutOfMemory) {
  CachingAllocator a(Device::cpu(), &counting_alloc, &counting_free);
  auto p = a.allocate(size_t{8} << 20);
  ASSERT_TRUE(p.ok());
  a.deallocate(*p, size_t{8} << 20);
  g_fail_next = true;  // the next driver call fails; the cached block is released and it retries
  auto q = a.allocate(size_t{32} << 20);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(g_raw_frees, 1);
  a.deallocate(*q, size_t{32} << 20);
}

TEST_F(CachingAllocatorTest, OutOfMemoryIsResourceExhausted) {
  CachingAllocator a(Device::cpu(), &counting_alloc, &counting_free);
  g_fail_next = true;
  auto p = a.allocate(100);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kResourceExhausted);
}

TEST(SizeClass, Granules) {
  EXPECT_EQ(CachingAllocator::size_class(1), 512u);
  EXPECT_EQ(CachingAllocator::size_class(513), 1024u);
  EXPECT_EQ(CachingAllocator::size_class(size_t{1} << 20), size_t{2} << 20);
  EXPECT_EQ(CachingAllocator::size_class((size_t{2} << 20) + 1), size_t{4} << 20);
}

}  // namespace
}  // namespace vamba
