// A fixed set of threads, started once, that runs submitted tasks and parallel loops. A
// process keeps a few of these, sized by its resource budget (core/resource_budget.h), rather
// than starting threads for each piece of work.
//
// Thread safety: every method may be called from any thread, including a pool's own tasks
// (a ParallelFor inside a task runs its share on the calling thread, so it cannot deadlock
// waiting for the pool).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace timbre {

// kBackground: the thread gives way to normal threads when the cores are short (a server's
// scans and analyses beside its HTTP threads), and runs at full speed when they are not.
enum class ThreadPriority { kNormal, kBackground };

// Applies `priority` to the calling thread alone, relative to the process's own (kNormal leaves
// it as it is); best effort: a refusal leaves it as it was.
void SetCurrentThreadPriority(ThreadPriority priority);

class ThreadPool {
 public:
  // `threads` may be 0: then Submit runs each task at once on the caller and ParallelFor runs
  // on the caller alone. `name` shows in debuggers and `top -H` (first 15 bytes).
  ThreadPool(int threads, std::string name, ThreadPriority priority = ThreadPriority::kNormal);
  // Runs the tasks still queued, then joins the threads.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(threads_.size()); }

  // Queues `task`; it must not throw (an escaping exception terminates the process).
  void Submit(std::function<void()> task);

  // Calls fn(i) for every i in [0, count), at most `parallelism` calls at once (the caller's
  // own thread among them), each taking the next unclaimed index; returns when all are done.
  // fn must be safe to call concurrently and must not throw.
  void ParallelFor(size_t count, int parallelism, const std::function<void(size_t)>& fn);

 private:
  void Work();

  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// The number of hardware threads, at least 1.
int HardwareThreads();

}  // namespace timbre
