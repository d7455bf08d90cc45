#include "timbre/core/thread_pool.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <vector>

namespace timbre {
namespace {

TEST(ThreadPoolTest, ParallelForVisitsEveryIndexOnce) {
  ThreadPool pool(3, "test");
  std::vector<std::atomic<int>> hits(1000);
  pool.ParallelFor(hits.size(), 4, [&](size_t i) { hits[i].fetch_add(1); });
  for (const auto& h : hits) EXPECT_EQ(h.load(), 1);
}

TEST(ThreadPoolTest, ZeroItemsAndZeroThreads) {
  ThreadPool pool(2, "test");
  int calls = 0;
  pool.ParallelFor(0, 4, [&](size_t) { ++calls; });
  EXPECT_EQ(calls, 0);
  pool.ParallelFor(3, 0, [&](size_t) { ++calls; });  // at least one thread: the caller
  EXPECT_EQ(calls, 3);
  ThreadPool none(0, "none");
  none.ParallelFor(5, 8, [&](size_t) { ++calls; });
  none.Submit([&] { ++calls; });  // runs at once on the caller
  EXPECT_EQ(calls, 9);
  EXPECT_GE(HardwareThreads(), 1);
}

// The threads are started once: loops and tasks run on the same few threads whatever their
// number, and never more at once than asked.
TEST(ThreadPoolTest, ReusesItsThreadsAndKeepsTheLimit) {
  ThreadPool pool(3, "test");
  std::mutex mu;
  std::set<std::thread::id> seen;
  std::atomic<int> running{0}, peak{0};
  for (int round = 0; round < 20; ++round) {
    pool.ParallelFor(64, 2, [&](size_t) {
      const int now = ++running;
      int p = peak.load();
      while (now > p && !peak.compare_exchange_weak(p, now)) {
      }
      {
        std::lock_guard lock(mu);
        seen.insert(std::this_thread::get_id());
      }
      --running;
    });
  }
  EXPECT_LE(peak.load(), 2);
  EXPECT_LE(seen.size(), 4u);  // the pool's three and the caller
}

TEST(ThreadPoolTest, SubmittedTasksRunBeforeThePoolIsGone) {
  std::atomic<int> ran{0};
  {
    ThreadPool pool(2, "test");
    for (int i = 0; i < 100; ++i) pool.Submit([&] { ++ran; });
  }
  EXPECT_EQ(ran.load(), 100);
}

// A background pool's threads run below the process's priority; the caller's thread and a
// normal pool's threads keep it.
TEST(ThreadPoolTest, BackgroundThreadsGiveWay) {
  auto nice_of_this_thread = [] { return getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())); };
  const int own = nice_of_this_thread();
  ASSERT_LT(own, 19) << "the test needs room below the process's priority";
  std::atomic<int> background{own}, normal{own - 1};
  {
    ThreadPool low(1, "test-low", ThreadPriority::kBackground);
    ThreadPool same(1, "test-same");
    low.Submit([&] { background = nice_of_this_thread(); });
    same.Submit([&] { normal = nice_of_this_thread(); });
  }
  EXPECT_GT(background.load(), own);
  EXPECT_EQ(normal.load(), own);
  EXPECT_EQ(nice_of_this_thread(), own);
}

// A loop from inside a task of the same pool finishes even when every thread is busy: the
// caller does the work its helpers cannot start.
TEST(ThreadPoolTest, NestedLoopOnABusyPoolFinishes) {
  ThreadPool pool(1, "test");
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::atomic<int> sum{0};
  pool.Submit([&] {
    pool.ParallelFor(10, 4, [&](size_t i) { sum += static_cast<int>(i); });
    std::lock_guard lock(mu);
    done = true;
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return done; });
  EXPECT_EQ(sum.load(), 45);
}

}  // namespace
}  // namespace timbre
