#include "pipelines/worker.h"

#include <spdlog/spdlog.h>

#include <exception>

namespace vamba::pipelines {

Worker::Worker(std::string name, WorkerLimits limits, AdvanceFn advance)
    : name_(std::move(name)),
      limits_(limits),
      advance_(std::move(advance)),
      thread_([this] { loop(); }) {}

Worker::~Worker() { stop(); }

Status Worker::submit(std::function<void()> job, int64_t tokens) {
  return enqueue(Job{[job = std::move(job)]() -> std::unique_ptr<Continuation> {
                       job();
                       return nullptr;
                     },
                     tokens});
}

Status Worker::submit_continuing(std::function<std::unique_ptr<Continuation>()> job,
                                 int64_t tokens) {
  if (!advance_) return failed_precondition("worker " + name_ + " cannot advance continuations");
  return enqueue(Job{std::move(job), tokens});
}

Status Worker::enqueue(Job job) {
  const int64_t tokens = job.tokens;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return unavailable("the server is shutting down");
    if (queue_.size() >= limits_.max_queue) {
      return resource_exhausted("the request queue is full (" + std::to_string(queue_.size()) +
                                " waiting); retry later");
    }
    if (tokens > limits_.max_reserved_tokens) {
      return resource_exhausted("the request reserves " + std::to_string(tokens) +
                                " tokens, more than the server's whole token budget (" +
                                std::to_string(limits_.max_reserved_tokens) + ")");
    }
    if (reserved_ + tokens > limits_.max_reserved_tokens) {
      return resource_exhausted(
          "the server's token budget is in use (" + std::to_string(reserved_) + " of " +
          std::to_string(limits_.max_reserved_tokens) + " tokens reserved); retry later");
    }
    reserved_ += tokens;
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return ok_status();
}

void Worker::loop() {
  for (;;) {
    Job job;
    bool have_job = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || !live_.empty(); });
      if (queue_.empty() && live_.empty()) return;  // stopping and drained
      // A new job whenever a batch slot is free; otherwise keep the live ones moving.
      if (!queue_.empty() && live_.size() < limits_.max_batch) {
        job = std::move(queue_.front());
        queue_.pop_front();
        have_job = true;
      }
      running_job_ = true;
    }
    if (have_job) run_job(std::move(job));
    advance_live();
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_job_ = false;
      live_count_ = live_.size();
    }
  }
}

void Worker::run_job(Job job) {
  std::unique_ptr<Continuation> next;
  try {
    next = job.run();
  } catch (const std::exception& e) {
    // Jobs report through their own callers; an escaped exception is a bug, not a crash.
    spdlog::error("worker {}: job threw: {}", name_, e.what());
  }
  if (next && !next->done()) {
    live_.push_back(Live{std::move(next), job.tokens});
    return;
  }
  if (next) next->finish();
  release(job.tokens);
}

void Worker::advance_live() {
  if (live_.empty()) return;
  std::vector<Continuation*> work;
  for (Live& l : live_) work.push_back(l.work.get());
  bool threw = false;
  try {
    advance_(work);
  } catch (const std::exception& e) {
    // A bug, not a crash: the live ones are finished as they are (each reports its own state to
    // its caller) rather than advanced forever.
    spdlog::error("worker {}: advancing {} continuations threw: {}", name_, work.size(), e.what());
    threw = true;
  }
  for (size_t i = 0; i < live_.size();) {
    if (!threw && !live_[i].work->done()) {
      ++i;
      continue;
    }
    live_[i].work->finish();
    release(live_[i].tokens);
    live_.erase(live_.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

void Worker::release(int64_t tokens) {
  std::lock_guard<std::mutex> lock(mu_);
  reserved_ -= tokens;
}

void Worker::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

size_t Worker::queue_depth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

int64_t Worker::reserved_tokens() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reserved_;
}

bool Worker::busy() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_job_ || live_count_ > 0;
}

size_t Worker::live_continuations() const {
  std::lock_guard<std::mutex> lock(mu_);
  return live_count_;
}

}  // namespace vamba::pipelines
