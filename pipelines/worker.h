// One worker thread per device: the only thread that runs model work on it, fed by a bounded
// queue. Admission control happens at submit(): a full queue, or a job whose token reservation
// would pass the budget of tokens reserved by queued and running jobs, is refused with
// RESOURCE_EXHAUSTED at once instead of queueing work the device cannot hold.
//
// Jobs own their cancellation: a job whose caller gave up should check its flag when it starts
// and stop early (the worker runs every job it accepted, so each caller always gets an answer).
//
// Continuing jobs (generation): a job may hand back a Continuation instead of finishing. The worker
// keeps up to max_batch of them live and advances them all together with the `advance` function
// given at construction (one batched decode step for every live answer), taking one new job from
// the queue between steps — so a new request starts (prefill, first token) within one step of a
// free slot, and concurrent requests share each step's pass over the weights. A continuation's
// token reservation lasts until it is done and finished.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/core/status.h"

namespace vamba::pipelines {

struct WorkerLimits {
  size_t max_queue = 64;                 // jobs waiting (not counting the running one)
  int64_t max_reserved_tokens = 262144;  // sum of the reservations of queued + running jobs
  size_t max_batch = 16;                 // continuations advanced together
};

// Work that goes on after its job returned; owned and advanced by the worker thread only.
class Continuation {
 public:
  virtual ~Continuation() = default;
  virtual bool done() const = 0;
  // Called once, on the worker thread, when done() (delivers the result to the caller).
  virtual void finish() = 0;
};

class Worker {
 public:
  // Advances every live continuation by one step (they are all of the kind the jobs make).
  using AdvanceFn = std::function<void(const std::vector<Continuation*>&)>;

  explicit Worker(std::string name, WorkerLimits limits = {}, AdvanceFn advance = {});
  ~Worker();  // stop()
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Queues `job`, reserving `tokens` until it returns. RESOURCE_EXHAUSTED when the queue or the
  // token budget is full; UNAVAILABLE once stopping.
  Status submit(std::function<void()> job, int64_t tokens = 0);
  // A job that may return a continuation (nullptr: done). Needs an AdvanceFn.
  Status submit_continuing(std::function<std::unique_ptr<Continuation>()> job, int64_t tokens = 0);

  // Refuses new jobs, runs the ones already queued, and joins the thread. Idempotent.
  void stop();

  size_t queue_depth() const;
  int64_t reserved_tokens() const;
  bool busy() const;
  size_t live_continuations() const;  // answers being decoded together

 private:
  struct Job {
    std::function<std::unique_ptr<Continuation>()> run;
    int64_t tokens = 0;
  };
  struct Live {
    std::unique_ptr<Continuation> work;
    int64_t tokens = 0;
  };
  Status enqueue(Job job);
  void loop();
  // Runs one job; keeps its continuation, or releases its reservation.
  void run_job(Job job);
  // One advance over the live continuations; finishes and drops the done ones.
  void advance_live();
  void release(int64_t tokens);

  const std::string name_;
  const WorkerLimits limits_;
  const AdvanceFn advance_;
  std::vector<Live> live_;  // worker thread only
  size_t live_count_ = 0;   // live_.size(), under mu_ for the other threads
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  int64_t reserved_ = 0;
  bool running_job_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace vamba::pipelines
