#include "timbre/core/clock.h"

#include <ctime>
#include <thread>

#include <fmt/format.h>

namespace timbre {
namespace {

class MachineClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  int64_t UnixMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                 TimePoint deadline, const std::function<bool()>& done) const override {
    return cv.wait_until(lock, deadline, done);
  }
};

}  // namespace

void Clock::SleepFor(Duration d) const {
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock lock(mu);
  WaitUntil(lock, cv, Now() + d, [] { return false; });
}

const Clock& SystemClock() {
  static const MachineClock clock;
  return clock;
}

FakeClock::FakeClock(int64_t unix_ms) : start_unix_ms_(unix_ms) {}

Clock::TimePoint FakeClock::Now() const {
  std::lock_guard lock(mu_);
  return TimePoint(elapsed_);
}

int64_t FakeClock::UnixMs() const {
  std::lock_guard lock(mu_);
  return start_unix_ms_ + std::chrono::duration_cast<std::chrono::milliseconds>(elapsed_).count();
}

bool FakeClock::WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                          TimePoint deadline, const std::function<bool()>& done) const {
  while (true) {
    if (done()) return true;
    if (Now() >= deadline) return false;
    {
      std::lock_guard guard(mu_);
      waiting_.insert(&cv);
    }
    // Advance() notifies registered waiters; the short real wait only covers a notify that
    // came between the checks above and this wait. It never decides an outcome: time is
    // read from the fake clock.
    cv.wait_for(lock, std::chrono::milliseconds(20));
    std::lock_guard guard(mu_);
    waiting_.erase(waiting_.find(&cv));
  }
}

void FakeClock::Advance(Duration d) {
  std::lock_guard lock(mu_);
  elapsed_ += d;
  // Under mu_: a waiter unregisters under it too, so no condition variable is notified after
  // its owner has left WaitUntil.
  for (auto* cv : waiting_) cv->notify_all();
}

size_t FakeClock::waiters() const {
  std::lock_guard lock(mu_);
  return waiting_.size();
}

std::string Iso8601(int64_t unix_ms) {
  const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, unix_ms % 1000);
}

std::string NowIso8601() { return Iso8601(SystemClock().UnixMs()); }

}  // namespace timbre
