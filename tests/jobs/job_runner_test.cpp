// The job runner over a real SQLite queue: concurrency, retries, time limits, cancel, and
// the built-in scan job on real audio.
#include "timbre/jobs/job_runner.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>

#include "test_support.h"
#include "timbre/analysis/registry.h"
#include "timbre/jobs/job_kinds.h"

namespace timbre::jobs {
namespace {

using namespace std::chrono_literals;
using timbre::testing::MakeTone;
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

// Waits until the job leaves pending/processing, or 20 s pass.
store::JobRecord WaitDone(store::Store& store, int64_t id) {
  for (int i = 0; i < 2000; ++i) {
    auto job = store.GetJob(id);
    if (job.ok() && *job && (*job)->state != store::JobState::kPending &&
        (*job)->state != store::JobState::kProcessing) {
      return **job;
    }
    std::this_thread::sleep_for(10ms);
  }
  ADD_FAILURE() << "job " << id << " did not finish";
  return {};
}

JobRunnerOptions Fast(int workers) {
  JobRunnerOptions o;
  o.workers = workers;
  o.backoff_base = 20ms;
  o.poll = 10ms;
  return o;
}

TEST(JobRunnerTest, RunsEveryJobOnceWithinTheConcurrencyLimit) {
  TempDir dir;
  auto store = Open(dir);
  JobRunner runner(*store, Fast(3));
  std::atomic<int> running{0}, peak{0}, runs{0};
  runner.Register("work",
                  [&](const store::JobRecord& job, JobContext& context) -> Result<std::string> {
                    const int now = ++running;
                    int seen = peak.load();
                    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
                    }
                    context.Progress(1, 2, "half");
                    std::this_thread::sleep_for(5ms);
                    --running;
                    ++runs;
                    return "{\"id\":" + std::to_string(job.id) + "}";
                  });
  std::vector<int64_t> ids;
  for (int i = 0; i < 40; ++i) ids.push_back(Submit(*store, "work"));
  ASSERT_TRUE(runner.Start().ok());
  for (int64_t id : ids) {
    const auto job = WaitDone(*store, id);
    EXPECT_EQ(job.state, store::JobState::kCompleted);
    EXPECT_EQ(job.result, "{\"id\":" + std::to_string(id) + "}");
    EXPECT_EQ(job.attempts, 1);
  }
  runner.Stop(1s);
  EXPECT_EQ(runs.load(), 40);
  EXPECT_LE(peak.load(), 3);
  EXPECT_GE(peak.load(), 2);
}

TEST(JobRunnerTest, RetriesPassingErrorsAndNotFinalOnes) {
  TempDir dir;
  auto store = Open(dir);
  JobRunner runner(*store, Fast(1));
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

  const auto f = WaitDone(*store, flaky);
  EXPECT_EQ(f.state, store::JobState::kCompleted);
  EXPECT_EQ(f.attempts, 3);
  const auto log = (*store->GetJob(flaky))->attempt_log;
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].error, "network share away");
  EXPECT_EQ(log[2].error, "");

  const auto b = WaitDone(*store, bad);
  EXPECT_EQ(b.state, store::JobState::kFailed);
  EXPECT_EQ(b.attempts, 1);
  EXPECT_EQ(b.error, "no such option");

  const auto d = WaitDone(*store, down);
  EXPECT_EQ(d.state, store::JobState::kFailed);
  EXPECT_EQ(d.attempts, 2);  // its limit

  EXPECT_EQ(WaitDone(*store, unknown).state, store::JobState::kFailed);
  runner.Stop(1s);
}

TEST(JobRunnerTest, StopsJobsPastTheirTimeLimitAndCancelledOnes) {
  TempDir dir;
  auto store = Open(dir);
  JobRunnerOptions options = Fast(2);
  ASSERT_TRUE(ParseJobTimeouts("600,slow=1", options).ok());
  EXPECT_EQ(options.default_timeout, 600s);
  EXPECT_FALSE(ParseJobTimeouts("slow=soon", options).ok());
  JobRunner runner(*store, options);
  auto until_stopped = [](const store::JobRecord&, JobContext& context) -> Result<std::string> {
    while (!context.ShouldStop()) std::this_thread::sleep_for(5ms);
    return IoError("stopped");
  };
  runner.Register("slow", until_stopped);
  runner.Register("endless", until_stopped);
  const int64_t slow = Submit(*store, "slow", "{}", 1);
  const int64_t endless = Submit(*store, "endless");
  ASSERT_TRUE(runner.Start().ok());
  for (int i = 0; i < 500 && (*store->GetJob(endless))->state != store::JobState::kProcessing;
       ++i) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(store->CancelJob(endless).ok());
  EXPECT_EQ(WaitDone(*store, endless).state, store::JobState::kCancelled);
  const auto s = WaitDone(*store, slow);
  EXPECT_EQ(s.state, store::JobState::kFailed);
  EXPECT_NE(s.error.find("timed out after 1 s"), std::string::npos) << s.error;
  runner.Stop(1s);
}

TEST(JobRunnerTest, StoppingPutsRunningJobsBackInTheQueue) {
  TempDir dir;
  auto store = Open(dir);
  int64_t id = 0;
  {
    JobRunner runner(*store, Fast(1));
    runner.Register("long",
                    [](const store::JobRecord&, JobContext& context) -> Result<std::string> {
                      while (!context.ShouldStop()) std::this_thread::sleep_for(5ms);
                      return IoError("stopped");
                    });
    id = Submit(*store, "long");
    ASSERT_TRUE(runner.Start().ok());
    for (int i = 0; i < 500 && runner.active() == 0; ++i) std::this_thread::sleep_for(10ms);
    runner.Stop(50ms);
  }
  const auto job = *store->GetJob(id);
  EXPECT_EQ(job->state, store::JobState::kPending);
  EXPECT_NE(job->attempt_log.back().error.find("interrupted"), std::string::npos);
}

TEST(JobRunnerTest, BuiltinScanJobScansRealAudio) {
  TempDir dir;
  auto store = Open(dir);
  std::filesystem::create_directories(dir / "lib");
  MakeTone(dir / "lib" / "a.flac", 3.0, 440, -6, 2, 44100, "-c:a flac");
  analysis::Registry registry;
  analysis::RegisterBuiltinAnalyzers(registry);
  auto pipeline = analysis::DefaultPipeline(registry);
  ASSERT_TRUE(pipeline.ok());
  JobRunner runner(*store, Fast(1));
  RegisterBuiltinJobs(runner, *store, *pipeline, {});
  EXPECT_TRUE(runner.Handles("scan") && runner.Handles("analyze") && runner.Handles("write-tags"));
  const int64_t scan = Submit(*store, "scan", R"({"paths":[")" + (dir / "lib").string() + "\"]}");
  const int64_t bad = Submit(*store, "scan", R"({"paths":"not a list"})");
  const int64_t analyze =
      Submit(*store, "analyze", R"({"file_path":")" + (dir / "lib" / "a.flac").string() + "\"}");
  ASSERT_TRUE(runner.Start().ok());
  const auto s = WaitDone(*store, scan);
  ASSERT_EQ(s.state, store::JobState::kCompleted) << s.error;
  const auto result = nlohmann::json::parse(s.result);
  EXPECT_EQ(result["files"], 1);
  EXPECT_EQ(result["added"], 1);
  EXPECT_EQ(result["index"]["vectors"], 1);
  EXPECT_FALSE(s.progress.empty());
  const auto b = WaitDone(*store, bad);
  EXPECT_EQ(b.state, store::JobState::kFailed);
  EXPECT_NE(b.error.find("paths"), std::string::npos);
  const auto a = WaitDone(*store, analyze);
  ASSERT_EQ(a.state, store::JobState::kCompleted) << a.error;
  EXPECT_EQ(nlohmann::json::parse(a.result)["unchanged"], 1);
  runner.Stop(1s);
}

}  // namespace
}  // namespace timbre::jobs
