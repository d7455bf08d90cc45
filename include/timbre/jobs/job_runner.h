// Runs the store's job queue: a fixed number of workers (the global concurrency limit)
// claim jobs by priority, run the handler registered for the job's kind, and record the
// outcome. A failed attempt is retried with exponential backoff and jitter while attempts
// remain and the error is worth retrying; a job past its kind's time limit is stopped and
// counts as a failed attempt; a cancel request stops a running job.
//
// Crash safety comes from the store: a job is claimed in a transaction, completes only from
// `processing`, and Start() requeues what a killed process left running, so no job is lost
// and none completes twice.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "timbre/core/clock.h"
#include "timbre/core/paths.h"
#include "timbre/core/status.h"
#include "timbre/core/thread_pool.h"
#include "timbre/store/store.h"

namespace timbre::jobs {

// What a running handler may ask of the runner.
class JobContext {
 public:
  virtual ~JobContext() = default;
  // {current, total, percent, message}, stored with the job.
  virtual void Progress(int64_t current, int64_t total, const std::string& message) = 0;
  // True once the job should stop: cancelled, past its time limit, or the server stopping.
  virtual bool ShouldStop() const = 0;
};

// A kind of job, declared once and used by every front door: the HTTP API and the CLI check a
// payload with Validate() before it is queued, the workers Run() it. A payload is a JSON
// object's text.
class JobKind {
 public:
  virtual ~JobKind() = default;
  virtual const std::string& name() const = 0;
  // The payload checked and normalised (file paths resolved and confined by `paths`), or
  // why it cannot run: a bad payload fails before it is queued, not later as a failed job.
  virtual Result<std::string> Validate(std::string_view payload, const PathPolicy& paths) const = 0;
  // Runs one job; returns its result as JSON text. Whether a failure is retried follows its
  // code (InfoOf(code).retryable).
  virtual Result<std::string> Run(const store::JobRecord& job, JobContext& context) const = 0;
};

// A handler alone: a kind whose payloads need no checking.
using JobHandler =
    std::function<Result<std::string>(const store::JobRecord& job, JobContext& context)>;

// Told (on the worker's thread) that a job changed: its progress, or its outcome.
using JobChanged = std::function<void(int64_t job_id)>;

struct JobRunnerOptions {
  int workers = 2;                               // TIMBRE_MAX_CONCURRENT_JOBS
  std::chrono::milliseconds backoff_base{1000};  // first retry waits about this
  std::chrono::milliseconds backoff_max{60000};
  std::map<std::string, std::chrono::seconds> timeouts;  // by kind; TIMBRE_JOB_TIMEOUT
  std::chrono::seconds default_timeout{3600};
  std::chrono::milliseconds poll{500};  // how often idle workers look for due retries
  // How often a running job looks whether it was cancelled (the flag lives in the store, so
  // a cancel may come from another process).
  std::chrono::milliseconds cancel_check{500};
  const Clock* clock = &SystemClock();  // must outlive the runner
  JobChanged on_change;
  // Of the worker threads: a server runs its jobs in the background of its requests.
  ThreadPriority priority = ThreadPriority::kNormal;
  // Who this runner is to the queue; empty: DefaultWorkerId(). Processes that share a store
  // must not share a name.
  std::string worker_id;
  // A claimed job is held this long; a heartbeat renews it every third of it. A worker that
  // stops renewing (killed, paused, cut off) loses its jobs to the others when it runs out.
  std::chrono::milliseconds lease{30000};
};

// "host:pid" of this process.
std::string DefaultWorkerId();
// True when `worker` is a default id of this host whose process is gone: its jobs can be
// handed back at once instead of after their lease.
bool WorkerIsGoneFromThisHost(const std::string& worker);

// TIMBRE_JOB_TIMEOUT: "600" (every kind) or "scan=3600,analyze=300" (by kind, with an
// optional bare default among them).
Status ParseJobTimeouts(std::string_view text, JobRunnerOptions& options);

class JobRunner {
 public:
  JobRunner(store::Store& store, JobRunnerOptions options);
  ~JobRunner();
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  // Kinds are registered before Start() and not after.
  void Register(std::shared_ptr<const JobKind> kind);
  void Register(const std::string& kind, JobHandler handler);
  bool Handles(const std::string& kind) const { return Find(kind) != nullptr; }
  const JobKind* Find(const std::string& kind) const;
  std::vector<std::string> kinds() const;

  // Hands back the jobs a previous run of this worker left running (and those of dead
  // processes on this host), then starts the workers and the heartbeat. With `only_kinds`,
  // the workers take jobs of those kinds alone (each must be registered).
  Result<size_t> Start(const std::vector<std::string>& only_kinds = {});
  // Stops claiming; running jobs get `grace` to finish, then are asked to stop and go back
  // to the queue for the next start.
  void Stop(std::chrono::milliseconds grace);
  // A job was submitted: an idle worker looks at once.
  void Wake();

  int active() const { return active_.load(); }
  int workers() const { return options_.workers; }
  int64_t completed() const { return completed_.load(); }
  int64_t failed_attempts() const { return failed_attempts_.load(); }
  int64_t leases_lost() const { return leases_lost_.load(); }
  const std::string& worker_id() const { return options_.worker_id; }

 private:
  class Context;
  void WorkerLoop();
  void HeartbeatLoop();
  store::JobLease Lease() const;
  void Run(const store::JobRecord& job, std::shared_ptr<std::atomic<bool>> lease_lost);
  std::chrono::milliseconds Backoff(int attempt);
  void Changed(int64_t id) const;

  store::Store& store_;
  JobRunnerOptions options_;
  std::map<std::string, std::shared_ptr<const JobKind>> kinds_;
  std::vector<std::thread> threads_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable idle_;  // notified when a job ends, for Stop()
  std::condition_variable wake_heartbeat_;
  bool stopping_ = false;
  bool threads_stopped_ = false;  // the workers are gone: the heartbeat ends
  std::vector<std::string> claim_kinds_;  // set by Start()
  bool woken_ = false;
  std::atomic<bool> abort_running_{false};
  std::atomic<int> active_{0};
  std::atomic<int64_t> completed_{0};
  std::atomic<int64_t> failed_attempts_{0};
  std::atomic<int64_t> leases_lost_{0};
  // Jobs running here, each with a flag the heartbeat sets when the lease is lost. Claims and
  // heartbeats take lease_mu_, so a job is in the map before a heartbeat could reap it.
  std::mutex lease_mu_;
  std::map<int64_t, std::shared_ptr<std::atomic<bool>>> running_;
  std::thread heartbeat_;
};

}  // namespace timbre::jobs
