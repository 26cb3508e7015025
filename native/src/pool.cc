#include "pool.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace shm {
namespace {

struct Job {
  size_t n = 0;
  std::atomic<size_t> next{0};
  unsigned maxParticipants = 1;
  unsigned participants = 0;  // guarded by Pool::mu_ (also hands out slots)
  unsigned active = 0;        // threads inside Work(); guarded by Pool::mu_
  const std::function<void(size_t, unsigned)>* body = nullptr;
};

class Pool {
 public:
  static Pool& Instance() {
    // Never destroyed: its threads live as long as the process (they sleep when idle).
    static Pool* pool = new Pool();
    return *pool;
  }

  void Run(size_t n, unsigned threads, const std::function<void(size_t, unsigned)>& body) {
    if (n == 0) return;
    threads = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(std::min<size_t>(n, 64))));
    if (threads == 1) {
      for (size_t i = 0; i < n; ++i) body(i, 0);
      return;
    }
    EnsureThreads(threads - 1);
    Job job;
    job.n = n;
    job.maxParticipants = threads;
    job.body = &body;
    unsigned slot;
    {
      std::lock_guard<std::mutex> lk(mu_);
      jobs_.push_back(&job);
      job.active = 1;
      slot = job.participants++;
    }
    work_.notify_all();
    Work(job, slot);
    std::unique_lock<std::mutex> lk(mu_);
    // Every item is claimed: no one may join any more; wait for those still inside.
    jobs_.erase(std::find(jobs_.begin(), jobs_.end(), &job));
    --job.active;
    done_.wait(lk, [&] { return job.active == 0; });
  }

 private:
  static void Work(Job& job, unsigned slot) {
    for (;;) {
      size_t i = job.next.fetch_add(1, std::memory_order_relaxed);
      if (i >= job.n) return;
      (*job.body)(i, slot);
    }
  }

  Job* Pick() {
    for (Job* j : jobs_)
      if (j->next.load(std::memory_order_relaxed) < j->n && j->participants < j->maxParticipants) return j;
    return nullptr;
  }

  void EnsureThreads(unsigned want) {
    std::lock_guard<std::mutex> lk(mu_);
    while (started_ < want) {
      std::thread([this] { Loop(); }).detach();
      ++started_;
    }
  }

  void Loop() {
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      Job* job = nullptr;
      work_.wait(lk, [&] { return (job = Pick()) != nullptr; });
      ++job->active;
      unsigned slot = job->participants++;
      lk.unlock();
      Work(*job, slot);
      lk.lock();
      if (--job->active == 0) done_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable work_, done_;
  std::vector<Job*> jobs_;
  unsigned started_ = 0;
};

}  // namespace

unsigned WorkerThreads() {
  static const unsigned n = [] {
    cpu_set_t set;
    unsigned c = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0) c = static_cast<unsigned>(CPU_COUNT(&set));
    if (c == 0) c = std::thread::hardware_concurrency();
    return std::max(1u, std::min(c == 0 ? 1u : c, 16u));
  }();
  return n;
}

void PoolRun(size_t n, unsigned threads, const std::function<void(size_t, unsigned)>& body) {
  Pool::Instance().Run(n, threads, body);
}

}  // namespace shm
