// The SQLite side of the job queue (job_records.h). Callers hold the store's mutex.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sqlite/sqlite_db.h"
#include "timbre/store/store.h"

namespace timbre::store::sqlite {

Result<JobRecord> SubmitJob(Database& db, const NewJob& job, bool* replayed);
Result<std::optional<JobRecord>> ClaimJob(Database& db, int64_t now_ms, const JobLease& lease,
                                          const std::vector<std::string>& kinds);
Result<bool> RenewJobLease(Database& db, int64_t id, const JobLease& lease);
Status SetJobProgress(Database& db, int64_t id, const std::string& worker,
                      const std::string& progress_json);
Result<bool> CompleteJob(Database& db, int64_t id, const std::string& worker,
                         const std::string& result_json);
Result<bool> FailJobAttempt(Database& db, int64_t id, const std::string& worker,
                            const std::string& error, int64_t retry_at_ms);
Result<bool> MarkJobCancelled(Database& db, int64_t id, const std::string& worker);
Result<std::optional<JobRecord>> CancelJob(Database& db, int64_t id);
Result<std::optional<JobRecord>> GetJob(Database& db, int64_t id);
Result<std::vector<JobRecord>> ListJobs(Database& db, std::optional<JobState> state, size_t limit);
Result<size_t> ReleaseJobsOf(Database& db, const std::vector<std::string>& workers,
                             const std::string& reason);
Result<size_t> ReapExpiredLeases(Database& db, int64_t now_ms);
Result<std::vector<std::string>> JobWorkers(Database& db);
Result<JobCounts> CountJobs(Database& db);

}  // namespace timbre::store::sqlite
