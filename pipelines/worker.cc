#include "pipelines/worker.h"

#include <spdlog/spdlog.h>

#include <exception>

namespace vamba::pipelines {

Worker::Worker(std::string name, WorkerLimits limits)
    : name_(std::move(name)), limits_(limits), thread_([this] { loop(); }) {}

Worker::~Worker() { stop(); }

Status Worker::submit(std::function<void()> job, int64_t tokens) {
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
    queue_.push_back(Job{std::move(job), tokens});
  }
  cv_.notify_one();
  return ok_status();
}

void Worker::loop() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      job = std::move(queue_.front());
      queue_.pop_front();
      running_job_ = true;
    }
    try {
      job.run();
    } catch (const std::exception& e) {
      // Jobs report through their own callers; an escaped exception is a bug, not a crash.
      spdlog::error("worker {}: job threw: {}", name_, e.what());
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      reserved_ -= job.tokens;
      running_job_ = false;
    }
  }
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
  return running_job_;
}

}  // namespace vamba::pipelines
