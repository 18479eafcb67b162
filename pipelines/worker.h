// One worker thread per device: the only thread that runs model work on it, fed by a bounded
// queue. Admission control happens at submit(): a full queue, or a job whose token reservation
// would pass the budget of tokens reserved by queued and running jobs, is refused with
// RESOURCE_EXHAUSTED at once instead of queueing work the device cannot hold.
//
// Jobs own their cancellation: a job whose caller gave up should check its flag when it starts
// and stop early (the worker runs every job it accepted, so each caller always gets an answer).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "engine/core/status.h"

namespace vamba::pipelines {

struct WorkerLimits {
  size_t max_queue = 64;                 // jobs waiting (not counting the running one)
  int64_t max_reserved_tokens = 262144;  // sum of the reservations of queued + running jobs
};

class Worker {
 public:
  explicit Worker(std::string name, WorkerLimits limits = {});
  ~Worker();  // stop()
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Queues `job`, reserving `tokens` until it returns. RESOURCE_EXHAUSTED when the queue or the
  // token budget is full; UNAVAILABLE once stopping.
  Status submit(std::function<void()> job, int64_t tokens = 0);

  // Refuses new jobs, runs the ones already queued, and joins the thread. Idempotent.
  void stop();

  size_t queue_depth() const;
  int64_t reserved_tokens() const;
  bool busy() const;

 private:
  struct Job {
    std::function<void()> run;
    int64_t tokens = 0;
  };
  void loop();

  const std::string name_;
  const WorkerLimits limits_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  int64_t reserved_ = 0;
  bool running_job_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace vamba::pipelines
