#include "timbre/core/clock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace timbre {
namespace {

using namespace std::chrono_literals;

TEST(ClockTest, FakeClockMovesOnlyWhenAdvanced) {
  FakeClock clock(1'000);
  const auto t0 = clock.Now();
  EXPECT_EQ(clock.UnixMs(), 1'000);
  EXPECT_EQ(clock.Now(), t0);
  clock.Advance(1500ms);
  EXPECT_EQ(clock.Now() - t0, 1500ms);
  EXPECT_EQ(clock.UnixMs(), 2'500);
  EXPECT_DOUBLE_EQ(clock.SecondsSince(t0), 1.5);
}

// A wait ends when the clock passes its deadline, however long that takes in real time, and
// not before.
TEST(ClockTest, FakeClockWakesWaitersAtTheirDeadline) {
  FakeClock clock;
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<bool> woke{false};
  std::thread waiter([&] {
    std::unique_lock lock(mu);
    EXPECT_FALSE(clock.WaitFor(lock, cv, 10s, [] { return false; }));
    woke = true;
  });
  while (clock.waiters() == 0) std::this_thread::yield();
  clock.Advance(9s);
  std::this_thread::sleep_for(50ms);  // real time passes; the fake deadline has not
  EXPECT_FALSE(woke.load());
  clock.Advance(1s);
  waiter.join();
  EXPECT_TRUE(woke.load());
}

TEST(ClockTest, WaitEndsWhenItsConditionHolds) {
  FakeClock clock;
  std::mutex mu;
  std::condition_variable cv;
  bool ready = false;
  std::thread waiter([&] {
    std::unique_lock lock(mu);
    EXPECT_TRUE(clock.WaitFor(lock, cv, 1h, [&] { return ready; }));
  });
  {
    std::lock_guard lock(mu);
    ready = true;
  }
  cv.notify_all();
  waiter.join();
}

TEST(ClockTest, SystemClockAndIsoTimes) {
  const auto a = SystemClock().Now();
  SystemClock().SleepFor(1ms);
  EXPECT_GT(SystemClock().Now(), a);
  EXPECT_EQ(Iso8601(1'767'225'600'123), "2026-01-01T00:00:00.123Z");
  EXPECT_EQ(NowIso8601().size(), 24u);
}

}  // namespace
}  // namespace timbre
