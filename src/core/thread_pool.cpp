#include "timbre/core/thread_pool.h"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <memory>

namespace timbre {
namespace {

// One ParallelFor: shared with its helper tasks, which may start after the loop is over (the
// pool was busy) and must then leave without touching it.
struct Loop {
  Loop(size_t n, const std::function<void(size_t)>& f) : count(n), fn(f) {}
  void Drain() {
    for (size_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) fn(i);
  }
  const size_t count;
  const std::function<void(size_t)>& fn;  // the caller's; alive while the loop is open
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::condition_variable helpers_done;
  int helpers_running = 0;
  bool closed = false;  // the caller is done: helpers that start now do nothing
};

}  // namespace

void SetCurrentThreadPriority(ThreadPriority priority) {
  if (priority == ThreadPriority::kNormal) return;  // threads start at the process's priority
  // On Linux a nice value belongs to a thread, not to the process, so this lowers only the
  // caller. Ten steps down leaves the thread about a tenth of a contended core and all of an
  // idle one.
  constexpr int kBackgroundSteps = 10;
  const auto tid = static_cast<id_t>(gettid());
  errno = 0;
  const int now = getpriority(PRIO_PROCESS, tid);
  if (errno != 0) return;
  (void)setpriority(PRIO_PROCESS, tid, std::min(now + kBackgroundSteps, 19));
}

ThreadPool::ThreadPool(int threads, std::string name, ThreadPriority priority) {
  name.resize(std::min<size_t>(name.size(), 15));
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this, priority] {
      if (priority != ThreadPriority::kNormal) SetCurrentThreadPriority(priority);
      Work();
    });
    pthread_setname_np(threads_.back().native_handle(), name.c_str());
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& t : threads_) t.join();
}

void ThreadPool::Submit(std::function<void()> task) {
  if (threads_.empty()) {
    task();
    return;
  }
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(task));
  }
  ready_.notify_one();
}

void ThreadPool::Work() {
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to run
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

void ThreadPool::ParallelFor(size_t count, int parallelism, const std::function<void(size_t)>& fn) {
  if (count == 0) return;
  const size_t helpers =
      std::min({static_cast<size_t>(std::max(parallelism, 1)) - 1, count - 1, threads_.size()});
  auto loop = std::make_shared<Loop>(count, fn);
  for (size_t h = 0; h < helpers; ++h) {
    Submit([loop] {
      {
        std::lock_guard lock(loop->mu);
        if (loop->closed) return;
        ++loop->helpers_running;
      }
      loop->Drain();
      std::lock_guard lock(loop->mu);
      if (--loop->helpers_running == 0) loop->helpers_done.notify_all();
    });
  }
  loop->Drain();
  std::unique_lock lock(loop->mu);
  loop->closed = true;
  loop->helpers_done.wait(lock, [&] { return loop->helpers_running == 0; });
}

int HardwareThreads() { return std::max(1u, std::thread::hardware_concurrency()); }

}  // namespace timbre
