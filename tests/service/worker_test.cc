// The worker: one thread, bounded queue and token budget (RESOURCE_EXHAUSTED), drain on stop.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "pipelines/worker.h"

namespace vamba::pipelines {
namespace {

TEST(Worker, RunsJobsInOrderOnOneThread) {
  Worker worker("test");
  std::vector<int> order;
  std::set<std::thread::id> threads;
  std::mutex mu;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(worker
                    .submit([&, i] {
                      std::lock_guard<std::mutex> lock(mu);
                      order.push_back(i);
                      threads.insert(std::this_thread::get_id());
                    })
                    .ok());
  }
  worker.stop();  // drains
  ASSERT_EQ(order.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(order[i], i);
  EXPECT_EQ(threads.size(), 1u);
  EXPECT_NE(*threads.begin(), std::this_thread::get_id());
}

TEST(Worker, FullQueueAndTokenBudgetAreResourceExhausted) {
  Worker worker("test", WorkerLimits{2, 100});
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::atomic<bool> started{false};
  ASSERT_TRUE(worker
                  .submit(
                      [&, gate] {
                        started = true;
                        gate.wait();
                      },
                      10)
                  .ok());
  while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(worker.submit([] {}, 10).ok());
  ASSERT_TRUE(worker.submit([] {}, 10).ok());
  EXPECT_EQ(worker.queue_depth(), 2u);
  EXPECT_EQ(worker.submit([] {}, 1).code(), StatusCode::kResourceExhausted);  // queue full
  EXPECT_EQ(worker.reserved_tokens(), 30);
  release.set_value();
  worker.stop();
  EXPECT_EQ(worker.reserved_tokens(), 0);
  EXPECT_EQ(worker.submit([] {}, 1).code(), StatusCode::kUnavailable);
}

TEST(Worker, TokenBudgetRefusesWhatDoesNotFit) {
  Worker worker("test", WorkerLimits{10, 100});
  EXPECT_EQ(worker.submit([] {}, 101).code(), StatusCode::kResourceExhausted);
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  ASSERT_TRUE(worker.submit([gate] { gate.wait(); }, 80).ok());
  EXPECT_EQ(worker.submit([] {}, 30).code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(worker.submit([] {}, 20).ok());
  release.set_value();
  worker.stop();
}

}  // namespace
}  // namespace vamba::pipelines
