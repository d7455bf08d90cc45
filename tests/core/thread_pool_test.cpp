#include "timbre/core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace timbre {
namespace {

TEST(ParallelForTest, VisitsEveryIndexOnce) {
  std::vector<std::atomic<int>> hits(1000);
  ParallelFor(hits.size(), 4, [&](size_t i) { hits[i].fetch_add(1); });
  for (const auto& h : hits) EXPECT_EQ(h.load(), 1);
}

TEST(ParallelForTest, ZeroItemsAndZeroThreads) {
  int calls = 0;
  ParallelFor(0, 4, [&](size_t) { ++calls; });
  EXPECT_EQ(calls, 0);
  ParallelFor(3, 0, [&](size_t) { ++calls; });  // at least one thread
  EXPECT_EQ(calls, 3);
  EXPECT_GE(HardwareThreads(), 1);
}

}  // namespace
}  // namespace timbre
