// Time as timbre reads it: a Clock passed to everything that measures intervals, sets
// deadlines or waits (job backoff and time limits, caches, rate limits, event streams), so a
// test can drive time by hand with FakeClock instead of sleeping. Stored timestamps are ISO
// 8601 in UTC with milliseconds.
//
// Thread safety: every method of both clocks may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>

namespace timbre {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;

  virtual ~Clock() = default;
  // Monotonic time, for intervals and deadlines.
  virtual TimePoint Now() const = 0;
  // Wall time in milliseconds since the Unix epoch, for what is stored and shown.
  virtual int64_t UnixMs() const = 0;
  // With `lock` held on `cv`'s mutex: waits until `done()` holds or this clock reaches
  // `deadline`, whichever comes first, and returns done(). `done` is checked with the lock
  // held, as std::condition_variable's predicate is.
  virtual bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                         TimePoint deadline, const std::function<bool()>& done) const = 0;

  bool WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, Duration wait,
               const std::function<bool()>& done) const {
    return WaitUntil(lock, cv, Now() + wait, done);
  }
  // Returns once this clock has moved on by `d`.
  void SleepFor(Duration d) const;
  double SecondsSince(TimePoint t) const {
    return std::chrono::duration<double>(Now() - t).count();
  }
};

// The machine's clocks (steady_clock and system_clock).
const Clock& SystemClock();

// A clock that moves only when told to. Waiters wake when Advance() takes the clock past
// their deadline (and, as with any condition variable, when notified).
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t unix_ms = 1'767'225'600'000);  // 2026-01-01T00:00:00Z
  TimePoint Now() const override;
  int64_t UnixMs() const override;
  bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                 TimePoint deadline, const std::function<bool()>& done) const override;
  void Advance(Duration d);
  // How many threads are waiting on this clock now: lets a test advance time only once the
  // thread it drives has reached its wait.
  size_t waiters() const;

 private:
  mutable std::mutex mu_;
  Duration elapsed_{};
  int64_t start_unix_ms_;
  mutable std::multiset<std::condition_variable*> waiting_;
};

// The wall time now, and a Unix time in milliseconds, as "2026-11-22T10:31:05.123Z".
std::string NowIso8601();
std::string Iso8601(int64_t unix_ms);

}  // namespace timbre
