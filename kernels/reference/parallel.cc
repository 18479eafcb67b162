#include "kernels/reference/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace vamba::kernels::reference {
namespace {

thread_local bool t_inside_pool = false;

// One job at a time: workers pull fixed-size blocks of the range through an atomic counter.
class Pool {
 public:
  explicit Pool(int n) {
    for (int i = 0; i + 1 < n; ++i) workers_.emplace_back([this] { worker(); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

  void run(int64_t begin, int64_t end, int64_t block,
           const std::function<void(int64_t, int64_t)>& fn) {
    std::lock_guard<std::mutex> job_lock(job_mu_);  // callers from different threads take turns
    {
      std::lock_guard<std::mutex> lock(mu_);
      fn_ = &fn;
      begin_ = begin;
      end_ = end;
      block_ = block;
      next_.store(begin);
      active_ = static_cast<int>(workers_.size());
      ++generation_;
    }
    cv_.notify_all();
    t_inside_pool = true;
    drain();
    t_inside_pool = false;
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [this] { return active_ == 0; });
    fn_ = nullptr;
  }

 private:
  void drain() {
    for (;;) {
      const int64_t b = next_.fetch_add(block_);
      if (b >= end_) return;
      (*fn_)(b, std::min(end_, b + block_));
    }
  }

  void worker() {
    t_inside_pool = true;
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
      }
      drain();
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (--active_ == 0) done_cv_.notify_one();
      }
    }
  }

  std::vector<std::thread> workers_;
  std::mutex job_mu_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable done_cv_;
  bool stop_ = false;
  uint64_t generation_ = 0;
  int active_ = 0;
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t begin_ = 0, end_ = 0, block_ = 1;
  std::atomic<int64_t> next_{0};
};

int compute_num_threads() {
  if (const char* env = std::getenv("VAMBA_NUM_THREADS"); env && *env) {
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

Pool& pool() {
  static Pool* p = new Pool(num_threads());  // never destroyed: workers may outlive static dtors
  return *p;
}

}  // namespace

int num_threads() {
  static const int n = compute_num_threads();
  return n;
}

void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn) {
  if (end <= begin) return;
  grain = std::max<int64_t>(1, grain);
  const int threads = num_threads();
  const int64_t n = end - begin;
  if (threads == 1 || n <= grain || t_inside_pool) {
    fn(begin, end);
    return;
  }
  // About four blocks per thread balances uneven rows without much counter traffic.
  const int64_t block = std::max(grain, (n + 4 * threads - 1) / (4 * threads));
  pool().run(begin, end, block, fn);
}

}  // namespace vamba::kernels::reference
