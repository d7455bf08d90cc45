// The persistent job queue on a real SQLite store: order, idempotency, retries, cancel,
// leases, and recovery after a crash.
#include <gtest/gtest.h>

#include "test_support.h"
#include "timbre/store/store.h"

namespace timbre::store {
namespace {

using timbre::testing::TempDir;

NewJob Job(const std::string& kind, int priority, const std::string& key = "",
           const std::string& hash = "") {
  NewJob j;
  j.kind = kind;
  j.payload = R"({"kind":")" + kind + "\"}";
  j.priority = priority;
  j.idempotency_key = key;
  j.request_hash = hash;
  return j;
}

const std::string kMe = "host-a:100";
// A lease far in the future: the tests that are not about leases never lose one.
const JobLease kLease{kMe, 1LL << 60};

std::unique_ptr<Store> Open(const TempDir& dir) {
  auto s = OpenStore((dir / "t.db").string());
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return std::move(s).value();
}

TEST(JobQueueTest, ClaimsByPriorityThenAge) {
  TempDir dir;
  auto store = Open(dir);
  const auto background = store->SubmitJob(Job("scan", 20), nullptr);
  const auto normal = store->SubmitJob(Job("analyze", 10), nullptr);
  const auto now_playing = store->SubmitJob(Job("analyze", 0), nullptr);
  const auto normal2 = store->SubmitJob(Job("analyze", 10), nullptr);
  ASSERT_TRUE(background.ok() && normal.ok() && now_playing.ok() && normal2.ok());
  std::vector<int64_t> order;
  while (true) {
    auto job = store->ClaimJob(0, kLease, {});
    ASSERT_TRUE(job.ok());
    if (!*job) break;
    EXPECT_EQ((*job)->state, JobState::kProcessing);
    EXPECT_EQ((*job)->attempts, 1);
    order.push_back((*job)->id);
  }
  EXPECT_EQ(order,
            (std::vector<int64_t>{now_playing->id, normal->id, normal2->id, background->id}));
  EXPECT_EQ(store->CountJobs()->processing, 4);
}

TEST(JobQueueTest, IdempotencyKeyReplaysOrRefuses) {
  TempDir dir;
  auto store = Open(dir);
  bool replayed = true;
  auto first = store->SubmitJob(Job("scan", 10, "key-1", "hash-a"), &replayed);
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(replayed);
  auto again = store->SubmitJob(Job("scan", 10, "key-1", "hash-a"), &replayed);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(replayed);
  EXPECT_EQ(again->id, first->id);
  auto other = store->SubmitJob(Job("scan", 10, "key-1", "hash-b"), &replayed);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().reason(), "idempotency_mismatch");
  EXPECT_EQ(store->ListJobs(std::nullopt, 100)->size(), 1u);
}

TEST(JobQueueTest, CompletesOnceAndRecordsEveryAttempt) {
  TempDir dir;
  auto store = Open(dir);
  const int64_t id = store->SubmitJob(Job("scan", 10), nullptr)->id;
  ASSERT_TRUE((*store->ClaimJob(0, kLease, {})).has_value());
  // The first attempt fails and waits until t = 5000 ms before it may run again.
  EXPECT_TRUE(*store->FailJobAttempt(id, kMe, "disk unplugged", 5000));
  EXPECT_FALSE((*store->ClaimJob(4999, kLease, {})).has_value());
  auto retry = store->ClaimJob(5000, kLease, {});
  ASSERT_TRUE(retry.ok() && retry->has_value());
  EXPECT_EQ((*retry)->attempts, 2);
  ASSERT_TRUE(store->SetJobProgress(id, kMe, R"({"current":1,"total":2})").ok());
  EXPECT_TRUE(*store->CompleteJob(id, kMe, R"({"files":2})"));
  EXPECT_FALSE(*store->CompleteJob(id, kMe, R"({"files":3})"));  // never twice
  auto job = store->GetJob(id);
  ASSERT_TRUE(job.ok() && job->has_value());
  EXPECT_EQ((*job)->state, JobState::kCompleted);
  EXPECT_EQ((*job)->result, R"({"files":2})");
  ASSERT_EQ((*job)->attempt_log.size(), 2u);
  EXPECT_EQ((*job)->attempt_log[0].error, "disk unplugged");
  EXPECT_EQ((*job)->attempt_log[1].error, "");
  EXPECT_FALSE((*job)->attempt_log[1].finished_at.empty());
}

TEST(JobQueueTest, FailsForGoodWithoutRetry) {
  TempDir dir;
  auto store = Open(dir);
  const int64_t id = store->SubmitJob(Job("scan", 10), nullptr)->id;
  ASSERT_TRUE((*store->ClaimJob(0, kLease, {})).has_value());
  EXPECT_TRUE(*store->FailJobAttempt(id, kMe, "bad payload", -1));
  EXPECT_EQ((*store->GetJob(id))->state, JobState::kFailed);
  EXPECT_FALSE((*store->ClaimJob(1LL << 50, kLease, {})).has_value());
}

TEST(JobQueueTest, CancelsPendingAtOnceAndRunningThroughItsWorker) {
  TempDir dir;
  auto store = Open(dir);
  const int64_t running = store->SubmitJob(Job("scan", 0), nullptr)->id;
  const int64_t waiting = store->SubmitJob(Job("scan", 10), nullptr)->id;
  ASSERT_EQ((*store->ClaimJob(0, kLease, {}))->id, running);
  EXPECT_EQ((*store->CancelJob(waiting))->state, JobState::kCancelled);
  auto flagged = store->CancelJob(running);
  EXPECT_EQ((*flagged)->state, JobState::kProcessing);
  EXPECT_TRUE((*flagged)->cancel_requested);
  EXPECT_TRUE(*store->MarkJobCancelled(running, kMe));
  EXPECT_EQ((*store->GetJob(running))->state, JobState::kCancelled);
  EXPECT_FALSE((*store->CancelJob(12345)).has_value());
  EXPECT_FALSE((*store->ClaimJob(0, kLease, {})).has_value());
}

TEST(JobQueueTest, InterruptedJobsRunAgainAfterARestart) {
  TempDir dir;
  int64_t id = 0;
  {
    auto store = Open(dir);
    id = store->SubmitJob(Job("scan", 10), nullptr)->id;
    ASSERT_TRUE((*store->ClaimJob(0, kLease, {})).has_value());
  }  // the process dies with the job processing
  auto store = Open(dir);
  EXPECT_EQ(*store->ReleaseJobsOf({kMe}, "interrupted: its worker stopped"), 1u);
  auto job = store->ClaimJob(0, kLease, {});
  ASSERT_TRUE(job.ok() && job->has_value());
  EXPECT_EQ((*job)->id, id);
  EXPECT_EQ((*job)->attempts, 2);
  EXPECT_TRUE(*store->CompleteJob(id, kMe, "{}"));
  auto done = store->GetJob(id);
  ASSERT_EQ((*done)->attempt_log.size(), 2u);
  EXPECT_NE((*done)->attempt_log[0].error.find("interrupted"), std::string::npos);
  EXPECT_EQ(*store->ReleaseJobsOf({kMe}, "interrupted"), 0u);
}

// Two workers on one queue: only the holder of a lease can finish its job; a lease that is
// not renewed in time hands the job to the other, and the first cannot complete it after.
TEST(JobQueueTest, LeasesDecideWhoFinishesAJob) {
  TempDir dir;
  auto store = Open(dir);
  const JobLease a{"host-a:1", 10'000};
  const int64_t id = store->SubmitJob(Job("scan", 10), nullptr)->id;
  auto claimed = store->ClaimJob(0, a, {});
  ASSERT_TRUE(claimed.ok() && claimed->has_value());
  EXPECT_EQ((*claimed)->worker, "host-a:1");
  EXPECT_EQ((*claimed)->lease_until_ms, 10'000);
  const JobLease b{"host-b:2", 30'000};
  EXPECT_FALSE(*store->RenewJobLease(id, b));
  EXPECT_FALSE(*store->CompleteJob(id, b.worker, "{}"));
  EXPECT_FALSE(*store->FailJobAttempt(id, b.worker, "no", 0));
  ASSERT_TRUE(store->SetJobProgress(id, b.worker, R"({"current":9})").ok());
  EXPECT_EQ((*store->GetJob(id))->progress, "");

  // a renews until 20 s; at 15 s nothing is reaped, at 20.001 s the job goes back.
  EXPECT_TRUE(*store->RenewJobLease(id, {a.worker, 20'000}));
  EXPECT_EQ(*store->ReapExpiredLeases(15'000), 0u);
  EXPECT_EQ(*store->JobWorkers(), std::vector<std::string>{"host-a:1"});
  EXPECT_EQ(*store->ReapExpiredLeases(20'001), 1u);
  EXPECT_EQ((*store->GetJob(id))->state, JobState::kPending);
  EXPECT_FALSE(*store->RenewJobLease(id, {a.worker, 40'000}));

  auto again = store->ClaimJob(20'001, b, {});
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->attempts, 2);
  EXPECT_FALSE(*store->CompleteJob(id, a.worker, R"({"by":"a"})"));  // a came back too late
  EXPECT_TRUE(*store->CompleteJob(id, b.worker, R"({"by":"b"})"));
  auto done = store->GetJob(id);
  EXPECT_EQ((*done)->result, R"({"by":"b"})");
  ASSERT_EQ((*done)->attempt_log.size(), 2u);
  EXPECT_EQ((*done)->attempt_log[0].worker, "host-a:1");
  EXPECT_NE((*done)->attempt_log[0].error.find("lease"), std::string::npos);
  EXPECT_EQ((*done)->attempt_log[1].worker, "host-b:2");
  EXPECT_EQ((*done)->attempt_log[1].error, "");
}

// A job that outlives its worker on every attempt stops at max_attempts instead of taking
// worker after worker down; a job cancelled while its worker was gone ends cancelled.
TEST(JobQueueTest, HandedBackJobsKeepTheirAttemptLimitAndCancel) {
  TempDir dir;
  auto store = Open(dir);
  NewJob poison = Job("scan", 10);
  poison.max_attempts = 2;
  const int64_t id = store->SubmitJob(poison, nullptr)->id;
  for (int attempt = 1; attempt <= 2; ++attempt) {
    ASSERT_TRUE((*store->ClaimJob(0, {"w:1", 100}, {})).has_value());
    EXPECT_EQ(*store->ReapExpiredLeases(101), 1u);
  }
  EXPECT_EQ((*store->GetJob(id))->state, JobState::kFailed);

  const int64_t cancelled = store->SubmitJob(Job("scan", 10), nullptr)->id;
  ASSERT_TRUE((*store->ClaimJob(0, {"w:1", 100}, {})).has_value());
  ASSERT_TRUE(store->CancelJob(cancelled).ok());
  EXPECT_EQ(*store->ReleaseJobsOf({"w:1"}, "interrupted"), 1u);
  EXPECT_EQ((*store->GetJob(cancelled))->state, JobState::kCancelled);
}

TEST(JobQueueTest, AWorkerTakesOnlyTheKindsItRuns) {
  TempDir dir;
  auto store = Open(dir);
  const int64_t scan = store->SubmitJob(Job("scan", 0), nullptr)->id;
  const int64_t tags = store->SubmitJob(Job("write-tags", 10), nullptr)->id;
  const int64_t analyze = store->SubmitJob(Job("analyze", 20), nullptr)->id;
  auto first = store->ClaimJob(0, kLease, {"analyze", "write-tags"});
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->id, tags);
  EXPECT_EQ((*store->ClaimJob(0, kLease, {"analyze", "write-tags"}))->id, analyze);
  EXPECT_FALSE((*store->ClaimJob(0, kLease, {"write"})).has_value());  // whole names only
  EXPECT_EQ((*store->ClaimJob(0, kLease, {}))->id, scan);
}

TEST(JobQueueTest, ListsByState) {
  TempDir dir;
  auto store = Open(dir);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(store->SubmitJob(Job("scan", 10), nullptr).ok());
  ASSERT_TRUE((*store->ClaimJob(0, kLease, {})).has_value());
  EXPECT_EQ(store->ListJobs(JobState::kPending, 100)->size(), 2u);
  EXPECT_EQ(store->ListJobs(JobState::kProcessing, 100)->size(), 1u);
  const auto all = store->ListJobs(std::nullopt, 2);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_GT((*all)[0].id, (*all)[1].id);  // newest first
}

}  // namespace
}  // namespace timbre::store
