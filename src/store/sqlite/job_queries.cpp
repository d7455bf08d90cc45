#include "sqlite/job_queries.h"

#include <sqlite3.h>

#include <functional>

#include <fmt/format.h>

#include "timbre/core/clock.h"

namespace timbre::store::sqlite {
namespace {

constexpr const char* kJobColumns =
    "id, kind, payload, priority, state, attempts, max_attempts, not_before_ms, "
    "cancel_requested, progress, result, error, COALESCE(idempotency_key, ''), request_hash, "
    "created_at, updated_at, started_at, finished_at, worker, lease_until_ms";

JobRecord ReadJob(const Statement& s) {
  JobRecord j;
  j.id = s.Int(0);
  j.kind = s.Text(1);
  j.payload = s.Text(2);
  j.priority = static_cast<int>(s.Int(3));
  j.state = ParseJobState(s.Text(4)).value_or(JobState::kFailed);
  j.attempts = static_cast<int>(s.Int(5));
  j.max_attempts = static_cast<int>(s.Int(6));
  j.not_before_ms = s.Int(7);
  j.cancel_requested = s.Int(8) != 0;
  j.progress = s.Text(9);
  j.result = s.Text(10);
  j.error = s.Text(11);
  j.idempotency_key = s.Text(12);
  j.request_hash = s.Text(13);
  j.created_at = s.Text(14);
  j.updated_at = s.Text(15);
  j.started_at = s.Text(16);
  j.finished_at = s.Text(17);
  j.worker = s.Text(18);
  j.lease_until_ms = s.Int(19);
  return j;
}

Result<std::optional<JobRecord>> SelectJob(Database& db, int64_t id) {
  Statement s(db.handle(), fmt::format("SELECT {} FROM jobs WHERE id = ?1", kJobColumns));
  s.Bind(1, id);
  Status st;
  if (!s.Step(&st)) {
    if (!st.ok()) return st;
    return std::optional<JobRecord>();
  }
  return std::optional<JobRecord>(ReadJob(s));
}

// Closes the job's open attempt with `error` (empty: it succeeded).
Status CloseAttempt(Database& db, int64_t id, const std::string& error, const std::string& now) {
  Statement s(db.handle(), R"sql(
UPDATE job_attempts SET finished_at = ?2, error = ?3
WHERE job_id = ?1 AND finished_at = '')sql");
  s.Bind(1, id).Bind(2, now).Bind(3, error);
  return s.Run();
}

// Moves a processing job that `worker` holds to `state`, recording the result or error.
// False when it was not (already finished, cancelled, requeued, or another worker's now).
Result<bool> Finish(Database& db, int64_t id, const std::string& worker, JobState state,
                    const std::string& result, const std::string& error) {
  Transaction tx(db);
  TIMBRE_RETURN_IF_ERROR(tx.begun());
  const std::string now = NowIso8601();
  Statement s(db.handle(), R"sql(
UPDATE jobs SET state = ?2, result = ?3, error = ?4, updated_at = ?5, finished_at = ?5,
  lease_until_ms = 0
WHERE id = ?1 AND state = 'processing' AND worker = ?6)sql");
  s.Bind(1, id).Bind(2, JobStateName(state)).Bind(3, result).Bind(4, error).Bind(5, now);
  s.Bind(6, worker);
  TIMBRE_RETURN_IF_ERROR(s.Run());
  if (sqlite3_changes(db.handle()) != 1) return false;
  TIMBRE_RETURN_IF_ERROR(CloseAttempt(db, id, error, now));
  TIMBRE_RETURN_IF_ERROR(tx.Commit());
  return true;
}

}  // namespace

Result<JobRecord> SubmitJob(Database& db, const NewJob& job, bool* replayed) {
  if (replayed != nullptr) *replayed = false;
  Transaction tx(db);
  TIMBRE_RETURN_IF_ERROR(tx.begun());
  if (!job.idempotency_key.empty()) {
    Statement s(db.handle(),
                fmt::format("SELECT {} FROM jobs WHERE idempotency_key = ?1", kJobColumns));
    s.Bind(1, job.idempotency_key);
    Status st;
    if (s.Step(&st)) {
      JobRecord existing = ReadJob(s);
      if (existing.request_hash != job.request_hash) {
        return InvalidArgument(
                   fmt::format("Idempotency-Key '{}' was used with another request (job {})",
                               job.idempotency_key, existing.id))
            .WithReason("idempotency_mismatch");
      }
      if (replayed != nullptr) *replayed = true;
      return existing;
    }
    if (!st.ok()) return st;
  }
  const std::string now = NowIso8601();
  Statement ins(db.handle(), R"sql(
INSERT INTO jobs (kind, payload, priority, state, max_attempts, idempotency_key, request_hash,
                  created_at, updated_at)
VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?6, ?7, ?7))sql");
  ins.Bind(1, job.kind).Bind(2, job.payload).Bind(3, job.priority).Bind(4, job.max_attempts);
  if (job.idempotency_key.empty()) {
    ins.BindNull(5);
  } else {
    ins.Bind(5, job.idempotency_key);
  }
  ins.Bind(6, job.request_hash).Bind(7, now);
  TIMBRE_RETURN_IF_ERROR(ins.Run());
  const int64_t id = sqlite3_last_insert_rowid(db.handle());
  auto created = SelectJob(db, id);
  if (!created.ok()) return created.status();
  TIMBRE_RETURN_IF_ERROR(tx.Commit());
  return **created;
}

Result<std::optional<JobRecord>> ClaimJob(Database& db, int64_t now_ms, const JobLease& lease,
                                          const std::vector<std::string>& kinds) {
  // ",scan,analyze," : a kind matches when ",kind," is in it; empty takes every kind.
  std::string kind_list;
  for (const auto& k : kinds) kind_list += "," + k;
  if (!kind_list.empty()) kind_list += ",";
  Transaction tx(db);
  TIMBRE_RETURN_IF_ERROR(tx.begun());
  Statement pick(db.handle(), R"sql(
SELECT id FROM jobs WHERE state = 'pending' AND not_before_ms <= ?1
  AND (?2 = '' OR instr(?2, ',' || kind || ',') > 0)
ORDER BY priority, id LIMIT 1)sql");
  pick.Bind(1, now_ms).Bind(2, kind_list);
  Status st;
  if (!pick.Step(&st)) {
    if (!st.ok()) return st;
    return std::optional<JobRecord>();
  }
  const int64_t id = pick.Int(0);
  const std::string now = NowIso8601();
  Statement take(db.handle(), R"sql(
UPDATE jobs SET state = 'processing', attempts = attempts + 1, updated_at = ?2,
  started_at = ?2, worker = ?3, lease_until_ms = ?4 WHERE id = ?1)sql");
  take.Bind(1, id).Bind(2, now).Bind(3, lease.worker).Bind(4, lease.until_ms);
  TIMBRE_RETURN_IF_ERROR(take.Run());
  Statement attempt(db.handle(), R"sql(
INSERT INTO job_attempts (job_id, number, started_at, worker)
SELECT id, attempts, ?2, worker FROM jobs WHERE id = ?1)sql");
  attempt.Bind(1, id).Bind(2, now);
  TIMBRE_RETURN_IF_ERROR(attempt.Run());
  auto job = SelectJob(db, id);
  if (!job.ok()) return job.status();
  TIMBRE_RETURN_IF_ERROR(tx.Commit());
  return job;
}

Result<bool> RenewJobLease(Database& db, int64_t id, const JobLease& lease) {
  Statement s(db.handle(), R"sql(
UPDATE jobs SET lease_until_ms = MAX(lease_until_ms, ?3)
WHERE id = ?1 AND state = 'processing' AND worker = ?2)sql");
  s.Bind(1, id).Bind(2, lease.worker).Bind(3, lease.until_ms);
  TIMBRE_RETURN_IF_ERROR(s.Run());
  return sqlite3_changes(db.handle()) == 1;
}

Status SetJobProgress(Database& db, int64_t id, const std::string& worker,
                      const std::string& progress_json) {
  Statement s(db.handle(), R"sql(
UPDATE jobs SET progress = ?2, updated_at = ?3
WHERE id = ?1 AND state = 'processing' AND worker = ?4)sql");
  s.Bind(1, id).Bind(2, progress_json).Bind(3, NowIso8601()).Bind(4, worker);
  return s.Run();
}

Result<bool> CompleteJob(Database& db, int64_t id, const std::string& worker,
                         const std::string& result_json) {
  return Finish(db, id, worker, JobState::kCompleted, result_json, "");
}

Result<bool> FailJobAttempt(Database& db, int64_t id, const std::string& worker,
                            const std::string& error, int64_t retry_at_ms) {
  if (retry_at_ms < 0) return Finish(db, id, worker, JobState::kFailed, "", error);
  Transaction tx(db);
  TIMBRE_RETURN_IF_ERROR(tx.begun());
  const std::string now = NowIso8601();
  Statement s(db.handle(), R"sql(
UPDATE jobs SET state = 'pending', error = ?2, not_before_ms = ?3, updated_at = ?4,
  lease_until_ms = 0
WHERE id = ?1 AND state = 'processing' AND worker = ?5)sql");
  s.Bind(1, id).Bind(2, error).Bind(3, retry_at_ms).Bind(4, now).Bind(5, worker);
  TIMBRE_RETURN_IF_ERROR(s.Run());
  if (sqlite3_changes(db.handle()) != 1) return false;
  TIMBRE_RETURN_IF_ERROR(CloseAttempt(db, id, error, now));
  TIMBRE_RETURN_IF_ERROR(tx.Commit());
  return true;
}

Result<bool> MarkJobCancelled(Database& db, int64_t id, const std::string& worker) {
  return Finish(db, id, worker, JobState::kCancelled, "", "cancelled");
}

Result<std::optional<JobRecord>> CancelJob(Database& db, int64_t id) {
  Transaction tx(db);
  TIMBRE_RETURN_IF_ERROR(tx.begun());
  const std::string now = NowIso8601();
  Statement pending(db.handle(), R"sql(
UPDATE jobs SET state = 'cancelled', updated_at = ?2, finished_at = ?2
WHERE id = ?1 AND state = 'pending')sql");
  pending.Bind(1, id).Bind(2, now);
  TIMBRE_RETURN_IF_ERROR(pending.Run());
  Statement running(db.handle(), R"sql(
UPDATE jobs SET cancel_requested = 1, updated_at = ?2 WHERE id = ?1 AND state = 'processing')sql");
  running.Bind(1, id).Bind(2, now);
  TIMBRE_RETURN_IF_ERROR(running.Run());
  auto job = SelectJob(db, id);
  if (!job.ok()) return job.status();
  TIMBRE_RETURN_IF_ERROR(tx.Commit());
  return job;
}

Result<std::optional<JobRecord>> GetJob(Database& db, int64_t id) {
  auto job = SelectJob(db, id);
  if (!job.ok() || !job->has_value()) return job;
  Statement s(db.handle(), R"sql(
SELECT number, started_at, finished_at, error, worker FROM job_attempts WHERE job_id = ?1
ORDER BY number)sql");
  s.Bind(1, id);
  Status st;
  while (s.Step(&st)) {
    (*job)->attempt_log.push_back(
        {static_cast<int>(s.Int(0)), s.Text(1), s.Text(2), s.Text(3), s.Text(4)});
  }
  if (!st.ok()) return st;
  return job;
}

Result<std::vector<JobRecord>> ListJobs(Database& db, std::optional<JobState> state, size_t limit) {
  Statement s(db.handle(),
              fmt::format("SELECT {} FROM jobs WHERE ?1 = '' OR state = ?1 ORDER BY id DESC "
                          "LIMIT ?2",
                          kJobColumns));
  s.Bind(1, state ? JobStateName(*state) : std::string_view()).Bind(2, static_cast<int64_t>(limit));
  std::vector<JobRecord> out;
  Status st;
  while (s.Step(&st)) out.push_back(ReadJob(s));
  if (!st.ok()) return st;
  return out;
}

namespace {

// Hands back the processing jobs that `which` (a condition on jobs, binding ?2 and up) picks:
// their open attempt is closed with `reason`; a job cancelled while it ran is cancelled; one
// with no attempt left fails (a job that kills its worker every time stops there); the others
// are pending again, due at once.
Result<size_t> Release(Database& db, const std::string& which, const std::string& reason,
                       const std::function<void(Statement&)>& bind) {
  Transaction tx(db);
  TIMBRE_RETURN_IF_ERROR(tx.begun());
  const std::string now = NowIso8601();
  Statement pick(db.handle(), fmt::format("SELECT id FROM jobs WHERE state = 'processing' AND ({})",
                                          which));
  bind(pick);
  std::vector<int64_t> ids;
  Status st;
  while (pick.Step(&st)) ids.push_back(pick.Int(0));
  TIMBRE_RETURN_IF_ERROR(st);
  for (int64_t id : ids) {
    TIMBRE_RETURN_IF_ERROR(CloseAttempt(db, id, reason, now));
    Statement release(db.handle(), R"sql(
UPDATE jobs SET
  state = CASE WHEN cancel_requested = 1 THEN 'cancelled'
               WHEN attempts >= max_attempts THEN 'failed' ELSE 'pending' END,
  finished_at = CASE WHEN cancel_requested = 1 OR attempts >= max_attempts THEN ?2
                     ELSE finished_at END,
  error = ?3, updated_at = ?2, not_before_ms = 0, lease_until_ms = 0
WHERE id = ?1)sql");
    release.Bind(1, id).Bind(2, now).Bind(3, reason);
    TIMBRE_RETURN_IF_ERROR(release.Run());
  }
  TIMBRE_RETURN_IF_ERROR(tx.Commit());
  return ids.size();
}

}  // namespace

Result<size_t> ReleaseJobsOf(Database& db, const std::vector<std::string>& workers,
                             const std::string& reason) {
  size_t n = 0;
  for (const auto& worker : workers) {
    auto r = Release(db, "worker = ?1", reason, [&](Statement& s) { s.Bind(1, worker); });
    if (!r.ok()) return r.status();
    n += *r;
  }
  return n;
}

Result<size_t> ReapExpiredLeases(Database& db, int64_t now_ms) {
  return Release(db, "lease_until_ms < ?1",
                 "its worker stopped renewing the lease (it died, hung or lost the database)",
                 [&](Statement& s) { s.Bind(1, now_ms); });
}

Result<std::vector<std::string>> JobWorkers(Database& db) {
  Statement s(db.handle(), "SELECT DISTINCT worker FROM jobs WHERE state = 'processing'");
  std::vector<std::string> out;
  Status st;
  while (s.Step(&st)) out.push_back(s.Text(0));
  if (!st.ok()) return st;
  return out;
}

Result<JobCounts> CountJobs(Database& db) {
  Statement s(db.handle(), "SELECT state, COUNT(*) FROM jobs GROUP BY state");
  JobCounts c;
  Status st;
  while (s.Step(&st)) {
    const auto state = ParseJobState(s.Text(0));
    const int64_t n = s.Int(1);
    if (!state) continue;
    switch (*state) {
      case JobState::kPending:
        c.pending = n;
        break;
      case JobState::kProcessing:
        c.processing = n;
        break;
      case JobState::kCompleted:
        c.completed = n;
        break;
      case JobState::kFailed:
        c.failed = n;
        break;
      case JobState::kCancelled:
        c.cancelled = n;
        break;
    }
  }
  if (!st.ok()) return st;
  return c;
}

}  // namespace timbre::store::sqlite
