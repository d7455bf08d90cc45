// The persistent job queue on a real SQLite store: order, idempotency, retries, cancel,
// and recovery after a crash.
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
    auto job = store->ClaimJob(0);
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
  ASSERT_TRUE((*store->ClaimJob(0)).has_value());
  // The first attempt fails and waits until t = 5000 ms before it may run again.
  EXPECT_TRUE(*store->FailJobAttempt(id, "disk unplugged", 5000));
  EXPECT_FALSE((*store->ClaimJob(4999)).has_value());
  auto retry = store->ClaimJob(5000);
  ASSERT_TRUE(retry.ok() && retry->has_value());
  EXPECT_EQ((*retry)->attempts, 2);
  ASSERT_TRUE(store->SetJobProgress(id, R"({"current":1,"total":2})").ok());
  EXPECT_TRUE(*store->CompleteJob(id, R"({"files":2})"));
  EXPECT_FALSE(*store->CompleteJob(id, R"({"files":3})"));  // never twice
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
  ASSERT_TRUE((*store->ClaimJob(0)).has_value());
  EXPECT_TRUE(*store->FailJobAttempt(id, "bad payload", -1));
  EXPECT_EQ((*store->GetJob(id))->state, JobState::kFailed);
  EXPECT_FALSE((*store->ClaimJob(1LL << 50)).has_value());
}

TEST(JobQueueTest, CancelsPendingAtOnceAndRunningThroughItsWorker) {
  TempDir dir;
  auto store = Open(dir);
  const int64_t running = store->SubmitJob(Job("scan", 0), nullptr)->id;
  const int64_t waiting = store->SubmitJob(Job("scan", 10), nullptr)->id;
  ASSERT_EQ((*store->ClaimJob(0))->id, running);
  EXPECT_EQ((*store->CancelJob(waiting))->state, JobState::kCancelled);
  auto flagged = store->CancelJob(running);
  EXPECT_EQ((*flagged)->state, JobState::kProcessing);
  EXPECT_TRUE((*flagged)->cancel_requested);
  EXPECT_TRUE(*store->MarkJobCancelled(running));
  EXPECT_EQ((*store->GetJob(running))->state, JobState::kCancelled);
  EXPECT_FALSE((*store->CancelJob(12345)).has_value());
  EXPECT_FALSE((*store->ClaimJob(0)).has_value());
}

TEST(JobQueueTest, InterruptedJobsRunAgainAfterARestart) {
  TempDir dir;
  int64_t id = 0;
  {
    auto store = Open(dir);
    id = store->SubmitJob(Job("scan", 10), nullptr)->id;
    ASSERT_TRUE((*store->ClaimJob(0)).has_value());
  }  // the process dies with the job processing
  auto store = Open(dir);
  EXPECT_EQ(*store->RequeueInterruptedJobs(), 1u);
  auto job = store->ClaimJob(0);
  ASSERT_TRUE(job.ok() && job->has_value());
  EXPECT_EQ((*job)->id, id);
  EXPECT_EQ((*job)->attempts, 2);
  EXPECT_TRUE(*store->CompleteJob(id, "{}"));
  auto done = store->GetJob(id);
  ASSERT_EQ((*done)->attempt_log.size(), 2u);
  EXPECT_NE((*done)->attempt_log[0].error.find("interrupted"), std::string::npos);
  EXPECT_EQ(*store->RequeueInterruptedJobs(), 0u);
}

TEST(JobQueueTest, ListsByState) {
  TempDir dir;
  auto store = Open(dir);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(store->SubmitJob(Job("scan", 10), nullptr).ok());
  ASSERT_TRUE((*store->ClaimJob(0)).has_value());
  EXPECT_EQ(store->ListJobs(JobState::kPending, 100)->size(), 2u);
  EXPECT_EQ(store->ListJobs(JobState::kProcessing, 100)->size(), 1u);
  const auto all = store->ListJobs(std::nullopt, 2);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_GT((*all)[0].id, (*all)[1].id);  // newest first
}

}  // namespace
}  // namespace timbre::store
