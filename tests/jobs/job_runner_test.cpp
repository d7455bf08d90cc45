// The job runner over a real SQLite queue: concurrency, retries, time limits, cancel. Time is
// a FakeClock the tests move: backoffs, time limits and cancel checks come due when a test
// says so, never by waiting.
#include "timbre/jobs/job_runner.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "test_support.h"

namespace timbre::jobs {
namespace {

using namespace std::chrono_literals;
using timbre::testing::TempDir;

std::unique_ptr<store::Store> Open(const TempDir& dir) {
  auto s = store::OpenStore((dir / "t.db").string());
  EXPECT_TRUE(s.ok());
  return std::move(s).value();
}

int64_t Submit(store::Store& store, const std::string& kind, const std::string& payload = "{}",
               int max_attempts = 3) {
  store::NewJob j;
  j.kind = kind;
  j.payload = payload;
  j.max_attempts = max_attempts;
  auto r = store.SubmitJob(j, nullptr);
  EXPECT_TRUE(r.ok());
  return r->id;
}

bool Finished(const store::JobRecord& j) {
  return j.state != store::JobState::kPending && j.state != store::JobState::kProcessing;
}

// A runner on a fake clock, with the runner's change notifications to wait on.
struct Harness {
  explicit Harness(int workers) {
    options.workers = workers;
    options.backoff_base = 20ms;
    options.backoff_max = 1s;
    options.poll = 10ms;
    options.cancel_check = 500ms;
    options.clock = &clock;
    options.on_change = [this](int64_t) {
      std::lock_guard lock(mu);
      ++changes;
      changed.notify_all();
    };
  }

  // Waits until the job has finished. While it has not, whenever every worker waits on the
  // clock (none is running a job), time moves on by a second, so retries come due.
  store::JobRecord WaitDone(store::Store& store, int64_t id, JobRunner& runner) {
    for (int round = 0; round < 20000; ++round) {
      auto job = store.GetJob(id);
      if (job.ok() && *job && Finished(**job)) return **job;
      if (runner.active() == 0 && clock.waiters() > 0) clock.Advance(1s);
      std::unique_lock lock(mu);
      // Woken by a change; the short real wait only keeps the loop from spinning.
      changed.wait_for(lock, 2ms);
    }
    ADD_FAILURE() << "job " << id << " did not finish";
    return {};
  }

  FakeClock clock;
  JobRunnerOptions options;
  std::mutex mu;
  std::condition_variable changed;
  int changes = 0;
};

// Every job runs once, and the workers run three at once, never more: each job waits until
// the first three have all started (so the limit is reached), then ends.
TEST(JobRunnerTest, RunsEveryJobOnceWithinTheConcurrencyLimit) {
  TempDir dir;
  auto store = Open(dir);
  Harness h(3);
  JobRunner runner(*store, h.options);
  std::mutex mu;
  std::condition_variable cv;
  int running = 0, peak = 0, runs = 0;
  runner.Register("work",
                  [&](const store::JobRecord& job, JobContext& context) -> Result<std::string> {
                    context.Progress(1, 2, "half");
                    std::unique_lock lock(mu);
                    peak = std::max(peak, ++running);
                    cv.notify_all();
                    cv.wait(lock, [&] { return peak >= 3; });
                    --running;
                    ++runs;
                    return "{\"id\":" + std::to_string(job.id) + "}";
                  });
  std::vector<int64_t> ids;
  for (int i = 0; i < 40; ++i) ids.push_back(Submit(*store, "work"));
  ASSERT_TRUE(runner.Start().ok());
  for (int64_t id : ids) {
    const auto job = h.WaitDone(*store, id, runner);
    EXPECT_EQ(job.state, store::JobState::kCompleted);
    EXPECT_EQ(job.result, "{\"id\":" + std::to_string(id) + "}");
    EXPECT_EQ(job.attempts, 1);
  }
  runner.Stop(0ms);
  EXPECT_EQ(runs, 40);
  EXPECT_EQ(peak, 3);
  EXPECT_GT(h.changes, 0);  // progress and outcomes were announced
}

TEST(JobRunnerTest, RetriesPassingErrorsAndNotFinalOnes) {
  TempDir dir;
  auto store = Open(dir);
  Harness h(1);
  JobRunner runner(*store, h.options);
  std::atomic<int> flaky_calls{0};
  runner.Register("flaky", [&](const store::JobRecord&, JobContext&) -> Result<std::string> {
    if (++flaky_calls < 3) return IoError("network share away");
    return std::string("{}");
  });
  runner.Register("bad", [](const store::JobRecord&, JobContext&) -> Result<std::string> {
    return InvalidArgument("no such option");
  });
  runner.Register("down", [](const store::JobRecord&, JobContext&) -> Result<std::string> {
    return IoError("still down");
  });
  const int64_t flaky = Submit(*store, "flaky");
  const int64_t bad = Submit(*store, "bad");
  const int64_t down = Submit(*store, "down", "{}", 2);
  const int64_t unknown = Submit(*store, "nobody-handles-this");
  ASSERT_TRUE(runner.Start().ok());

  const auto f = h.WaitDone(*store, flaky, runner);
  EXPECT_EQ(f.state, store::JobState::kCompleted);
  EXPECT_EQ(f.attempts, 3);
  const auto log = (*store->GetJob(flaky))->attempt_log;
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].error, "network share away");
  EXPECT_EQ(log[2].error, "");

  const auto b = h.WaitDone(*store, bad, runner);
  EXPECT_EQ(b.state, store::JobState::kFailed);
  EXPECT_EQ(b.attempts, 1);
  EXPECT_EQ(b.error, "no such option");

  const auto d = h.WaitDone(*store, down, runner);
  EXPECT_EQ(d.state, store::JobState::kFailed);
  EXPECT_EQ(d.attempts, 2);  // its limit

  EXPECT_EQ(h.WaitDone(*store, unknown, runner).state, store::JobState::kFailed);
  runner.Stop(0ms);
}

// A retry waits for its backoff on the clock: before the clock reaches it, the job stays
// pending however long the test waits in real time.
TEST(JobRunnerTest, ARetryWaitsForItsBackoff) {
  TempDir dir;
  auto store = Open(dir);
  Harness h(1);
  h.options.backoff_base = 10s;
  h.options.backoff_max = 10s;
  JobRunner runner(*store, h.options);
  std::atomic<int> calls{0};
  runner.Register("twice", [&](const store::JobRecord&, JobContext&) -> Result<std::string> {
    if (++calls == 1) return IoError("not yet");
    return std::string("{}");
  });
  const int64_t id = Submit(*store, "twice");
  ASSERT_TRUE(runner.Start().ok());
  // The first attempt fails; the retry is due 7.5 to 12.5 s later (±25 % jitter).
  while ((*store->GetJob(id))->attempts < 1 || runner.active() > 0 || h.clock.waiters() == 0) {
    std::this_thread::yield();
  }
  h.clock.Advance(7s);
  for (int i = 0; i < 50; ++i) {
    h.clock.Advance(1ms);  // wakes the worker: the job is not due yet
    std::this_thread::yield();
  }
  EXPECT_EQ((*store->GetJob(id))->state, store::JobState::kPending);
  EXPECT_EQ(calls.load(), 1);
  h.clock.Advance(6s);
  EXPECT_EQ(h.WaitDone(*store, id, runner).state, store::JobState::kCompleted);
  EXPECT_EQ(calls.load(), 2);
  runner.Stop(0ms);
}

TEST(JobRunnerTest, StopsJobsPastTheirTimeLimitAndCancelledOnes) {
  TempDir dir;
  auto store = Open(dir);
  Harness h(2);
  ASSERT_TRUE(ParseJobTimeouts("600,slow=1", h.options).ok());
  EXPECT_EQ(h.options.default_timeout, 600s);
  EXPECT_FALSE(ParseJobTimeouts("slow=soon", h.options).ok());
  JobRunner runner(*store, h.options);
  std::atomic<int> started{0};
  auto until_stopped = [&](const store::JobRecord&, JobContext& context) -> Result<std::string> {
    ++started;
    while (!context.ShouldStop()) std::this_thread::yield();
    return IoError("stopped");
  };
  runner.Register("slow", until_stopped);
  runner.Register("endless", until_stopped);
  const int64_t slow = Submit(*store, "slow", "{}", 1);
  const int64_t endless = Submit(*store, "endless");
  ASSERT_TRUE(runner.Start().ok());
  while (started < 2) std::this_thread::yield();
  ASSERT_TRUE(store->CancelJob(endless).ok());
  // Half a second later on the clock the endless job sees its cancel; the slow one is past
  // its one-second limit after two.
  h.clock.Advance(600ms);
  EXPECT_EQ(h.WaitDone(*store, endless, runner).state, store::JobState::kCancelled);
  EXPECT_EQ((*store->GetJob(slow))->state, store::JobState::kProcessing);
  h.clock.Advance(2s);
  const auto s = h.WaitDone(*store, slow, runner);
  EXPECT_EQ(s.state, store::JobState::kFailed);
  EXPECT_NE(s.error.find("timed out after 1 s"), std::string::npos) << s.error;
  runner.Stop(0ms);
}

TEST(JobRunnerTest, StoppingPutsRunningJobsBackInTheQueue) {
  TempDir dir;
  auto store = Open(dir);
  int64_t id = 0;
  {
    Harness h(1);
    JobRunner runner(*store, h.options);
    std::atomic<bool> started{false};
    runner.Register("long",
                    [&](const store::JobRecord&, JobContext& context) -> Result<std::string> {
                      started = true;
                      while (!context.ShouldStop()) std::this_thread::yield();
                      return IoError("stopped");
                    });
    id = Submit(*store, "long");
    ASSERT_TRUE(runner.Start().ok());
    while (!started) std::this_thread::yield();
    runner.Stop(0ms);  // no grace: the running job is asked to stop at once
  }
  const auto job = *store->GetJob(id);
  EXPECT_EQ(job->state, store::JobState::kPending);
  EXPECT_NE(job->attempt_log.back().error.find("interrupted"), std::string::npos);
}

// Kinds declare their own payload checks; a handler alone takes any payload.
TEST(JobRunnerTest, KindsAreFoundByName) {
  TempDir dir;
  auto store = Open(dir);
  JobRunner runner(*store, JobRunnerOptions{});
  runner.Register("work", [](const store::JobRecord&, JobContext&) -> Result<std::string> {
    return std::string("{}");
  });
  ASSERT_NE(runner.Find("work"), nullptr);
  EXPECT_EQ(runner.Find("other"), nullptr);
  EXPECT_EQ(runner.kinds(), std::vector<std::string>{"work"});
  auto payload = runner.Find("work")->Validate("{\"a\":1}", PathPolicy::Unconfined());
  ASSERT_TRUE(payload.ok());
  EXPECT_EQ(*payload, "{\"a\":1}");
}

}  // namespace
}  // namespace timbre::jobs
