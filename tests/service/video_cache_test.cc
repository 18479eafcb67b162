// The video cache: budget, LRU order, NOT_FOUND after eviction or delete.
#include <gtest/gtest.h>

#include "pipelines/video_cache.h"

namespace vamba::pipelines {
namespace {

CachedVideo raw_of(size_t bytes) {
  CachedVideo v;
  v.raw = std::make_shared<const std::vector<uint8_t>>(bytes, 7);
  v.bytes = bytes;
  return v;
}

TEST(VideoCache, EvictsLeastRecentlyUsedToStayInBudget) {
  VideoCache cache(1000);
  auto a = cache.put(raw_of(400));
  auto b = cache.put(raw_of(400));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  ASSERT_TRUE(cache.get(*a).ok());  // a is now the most recent: b goes first
  auto c = cache.put(raw_of(400));
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(cache.get(*a).ok());
  EXPECT_TRUE(cache.get(*c).ok());
  auto gone = cache.get(*b);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  const auto stats = cache.stats();
  EXPECT_EQ(stats.entries, 2u);
  EXPECT_EQ(stats.bytes, 800u);
  EXPECT_EQ(stats.evictions, 1);
}

TEST(VideoCache, EntryLargerThanTheBudgetIsResourceExhausted) {
  VideoCache cache(100);
  auto id = cache.put(raw_of(101));
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), StatusCode::kResourceExhausted);
}

TEST(VideoCache, EraseForgetsAndUnknownIsNotFound) {
  VideoCache cache(1000);
  auto id = cache.put(raw_of(10));
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(cache.erase(*id).ok());
  EXPECT_EQ(cache.erase(*id).code(), StatusCode::kNotFound);
  EXPECT_EQ(cache.get(*id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(cache.stats().bytes, 0u);
}

TEST(VideoCache, EvictedEntryStaysValidForItsHolder) {
  VideoCache cache(100);
  auto id = cache.put(raw_of(80));
  ASSERT_TRUE(id.ok());
  auto held = cache.get(*id);
  ASSERT_TRUE(held.ok());
  ASSERT_TRUE(cache.put(raw_of(80)).ok());  // evicts the first
  EXPECT_FALSE(cache.get(*id).ok());
  EXPECT_EQ(held->raw->size(), 80u);  // the running request still has its bytes
}

}  // namespace
}  // namespace vamba::pipelines
