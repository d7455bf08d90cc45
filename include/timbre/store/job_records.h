// Jobs as the store keeps them: the persistent queue behind `timbre serve` and `timbre jobs`.
// A job moves pending → processing → completed | failed | cancelled; a failed attempt with
// attempts left goes back to pending with a not-before time (backoff). Every attempt is
// recorded with its own error. A processing job is leased: held by one worker until a time
// its heartbeats push back; only that worker can finish it, and a lease that ends hands the
// job back to the queue.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace timbre::store {

enum class JobState { kPending, kProcessing, kCompleted, kFailed, kCancelled };
std::string_view JobStateName(JobState s);
std::optional<JobState> ParseJobState(std::string_view s);

struct JobAttempt {
  int number = 0;
  std::string started_at;
  std::string finished_at;
  std::string error;  // empty while running or when it succeeded
  std::string worker;  // who ran it
};

// Who holds a processing job, and until when (Unix ms).
struct JobLease {
  std::string worker;  // "host:pid", or the name the worker was given
  int64_t until_ms = 0;
};

struct JobRecord {
  int64_t id = 0;
  std::string kind;     // scan | analyze | write-tags | …
  std::string payload;  // JSON object, as submitted
  int priority = 10;    // 0 now playing, 10 normal, 20 background; lower runs first
  JobState state = JobState::kPending;
  int attempts = 0;
  int max_attempts = 3;
  int64_t not_before_ms = 0;  // a retry waits until then (Unix ms)
  bool cancel_requested = false;
  std::string progress;  // JSON {current, total, percent, message}; empty before any
  std::string result;    // JSON; empty until completed
  std::string error;     // the last attempt's error
  std::string idempotency_key;
  std::string request_hash;
  std::string created_at;
  std::string updated_at;
  std::string started_at;
  std::string finished_at;
  std::string worker;          // the lease's holder while processing; the last one after
  int64_t lease_until_ms = 0;  // while processing
  std::vector<JobAttempt> attempt_log;  // filled by GetJob only
};

struct NewJob {
  std::string kind;
  std::string payload;
  int priority = 10;
  int max_attempts = 3;
  std::string idempotency_key;  // empty: none
  std::string request_hash;     // what the key was used with
};

struct JobCounts {
  int64_t pending = 0;
  int64_t processing = 0;
  int64_t completed = 0;
  int64_t failed = 0;
  int64_t cancelled = 0;
};

}  // namespace timbre::store
