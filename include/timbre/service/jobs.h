// The job queue as its front doors use it: submitting (checked by the job kind, confined to
// the library, limited, idempotent), reading, cancelling, and following a job's progress.
//
// The built-in kinds, each declared once (Validate + Run) and registered on the engine's runner:
//   scan        {"paths": ["/music/a", ...]}           scan folders or files, then update
//                                                      the similarity index
//   analyze     {"track_id": 12} or {"file_path": "…"} analyse one file (again if changed)
//   write-tags  {"track_ids": [1, 2]} or {"paths": […]}, optional "only", "key_notation",
//               "dry_run"                               tags write, as the CLI does
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "timbre/core/clock.h"
#include "timbre/core/status.h"
#include "timbre/jobs/job_runner.h"
#include "timbre/store/store.h"

namespace timbre::service {

class Engine;

// scan, analyze and write-tags over the engine's store and pipeline.
std::vector<std::shared_ptr<const jobs::JobKind>> BuiltinJobKinds(Engine& engine);

struct SubmitJobRequest {
  std::string kind;
  std::string payload = "{}";  // a JSON object's text, without kind/priority/max_attempts
  int priority = 10;           // 0 (now playing) to 100; 10 normal, 20 background
  int max_attempts = 3;        // 1 to 20
  std::string idempotency_key;
  std::string request_hash;  // tells a replay of the same request from another one
  // Unfinished jobs beyond which the submit is refused (ResourceExhausted, reason "busy").
  int64_t queue_limit = 10000;
};

struct SubmitJobResult {
  store::JobRecord job;
  bool replayed = false;  // the idempotency key's earlier job, returned again
};

Result<SubmitJobResult> SubmitJob(Engine& engine, const SubmitJobRequest& request);
Result<store::JobRecord> GetJob(Engine& engine, int64_t id);  // NotFound when there is none
Result<std::vector<store::JobRecord>> ListJobs(Engine& engine, std::optional<store::JobState> state,
                                               size_t limit);
// Pending: cancelled now; processing: its worker stops it. A finished job is a Conflict.
Result<store::JobRecord> CancelJob(Engine& engine, int64_t id);

// Tells listeners when a job changes: at once for jobs this process runs (the runner calls
// Notify), and within `poll` for jobs another process runs (it reads the store). A thread of
// its own starts with the first subscription.
//
// Thread safety: every method may be called from any thread; listeners are called on the
// events thread, one at a time.
class JobEvents {
 public:
  // Called with the job as it is at subscription, then after each change, and with null
  // after `heartbeat` of silence. Return false to stop listening; after a finished job's
  // last call the subscription ends by itself.
  using Listener = std::function<bool(const store::JobRecord* job)>;

  JobEvents(store::Store& store, const Clock& clock, Clock::Duration poll = std::chrono::seconds(1),
            Clock::Duration heartbeat = std::chrono::seconds(15));
  ~JobEvents();

  // NotFound when there is no such job.
  Result<uint64_t> Subscribe(int64_t job_id, Listener listener);
  void Unsubscribe(uint64_t token);
  void Notify(int64_t job_id);
  size_t subscriptions() const;

 private:
  struct Subscription {
    int64_t job_id = 0;
    Listener listener;
    std::string last_sent;  // state, attempts and progress as last sent
    Clock::TimePoint last_sent_at{};
  };
  void Loop();

  store::Store& store_;
  const Clock& clock_;
  Clock::Duration poll_;
  Clock::Duration heartbeat_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::map<uint64_t, Subscription> subscriptions_;
  std::set<int64_t> notified_;
  uint64_t next_token_ = 1;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace timbre::service
