// The worker's continuations: jobs that go on after they return (answers being generated) are
// advanced together, at most max_batch at a time, new jobs join between steps, and each is
// finished once with its token reservation released.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <mutex>

#include "pipelines/worker.h"

namespace vamba::pipelines {
namespace {

// Needs `steps` advances; records what it saw.
class Counter : public Continuation {
 public:
  Counter(int steps, std::atomic<int>* finished) : left_(steps), finished_(finished) {}
  bool done() const override { return left_ <= 0; }
  void finish() override {
    EXPECT_FALSE(finished_once_) << "finished twice";
    finished_once_ = true;
    finished_->fetch_add(1);
  }
  void step() { --left_; }

 private:
  int left_;
  std::atomic<int>* finished_;
  bool finished_once_ = false;
};

TEST(WorkerBatch, ContinuationsAreAdvancedTogetherWithinTheBatchLimit) {
  std::mutex mu;
  size_t widest = 0;
  int advances = 0;
  std::atomic<int> finished{0};
  WorkerLimits limits;
  limits.max_batch = 3;
  std::promise<void> open;
  std::shared_future<void> gate = open.get_future().share();
  Worker worker("test", limits, [&](const std::vector<Continuation*>& live) {
    gate.wait();  // let every job be queued before the first step
    std::lock_guard<std::mutex> lock(mu);
    widest = std::max(widest, live.size());
    ++advances;
    for (Continuation* c : live) static_cast<Counter*>(c)->step();
  });
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        worker.submit_continuing([&, i] { return std::make_unique<Counter>(4 + i, &finished); }, 10)
            .ok());
  }
  open.set_value();
  worker.stop();  // drains the queue and the live continuations
  EXPECT_EQ(finished.load(), 5);
  EXPECT_EQ(widest, 3u);  // never more than max_batch, and batching did happen
  // Five jobs of 4..8 steps, three at a time: far fewer advances than the 30 steps one by one.
  EXPECT_LT(advances, 30);
  EXPECT_EQ(worker.reserved_tokens(), 0);
  EXPECT_EQ(worker.live_continuations(), 0u);
}

TEST(WorkerBatch, PlainJobsRunBetweenStepsAndFinishedContinuationsEndAtOnce) {
  std::atomic<int> finished{0};
  std::atomic<int> plain{0};
  Worker worker("test", WorkerLimits{}, [&](const std::vector<Continuation*>& live) {
    for (Continuation* c : live) static_cast<Counter*>(c)->step();
  });
  ASSERT_TRUE(
      worker.submit_continuing([&] { return std::make_unique<Counter>(50, &finished); }).ok());
  ASSERT_TRUE(worker.submit([&] { plain.fetch_add(1); }).ok());
  // Done on return: finished without any advance.
  ASSERT_TRUE(
      worker.submit_continuing([&] { return std::make_unique<Counter>(0, &finished); }).ok());
  ASSERT_TRUE(worker.submit_continuing([] { return std::unique_ptr<Continuation>(); }).ok());
  worker.stop();
  EXPECT_EQ(plain.load(), 1);
  EXPECT_EQ(finished.load(), 2);
}

TEST(WorkerBatch, ContinuingJobsNeedAnAdvanceFunction) {
  Worker worker("test");
  auto st = worker.submit_continuing([] { return std::unique_ptr<Continuation>(); });
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
}

TEST(WorkerBatch, AnAdvanceThatThrowsFinishesTheLiveOnesInsteadOfLooping) {
  std::atomic<int> finished{0};
  Worker worker("test", WorkerLimits{},
                [](const std::vector<Continuation*>&) { throw std::runtime_error("bug"); });
  ASSERT_TRUE(
      worker.submit_continuing([&] { return std::make_unique<Counter>(5, &finished); }).ok());
  worker.stop();
  EXPECT_EQ(finished.load(), 1);
}

}  // namespace
}  // namespace vamba::pipelines
