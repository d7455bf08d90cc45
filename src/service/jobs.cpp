#include "timbre/service/jobs.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "timbre/service/engine.h"

namespace timbre::service {

Result<SubmitJobResult> SubmitJob(Engine& engine, const SubmitJobRequest& request) {
  jobs::JobRunner& runner = engine.jobs();
  const jobs::JobKind* kind = runner.Find(request.kind);
  if (kind == nullptr) {
    std::string known;
    for (const auto& k : runner.kinds()) known += (known.empty() ? "" : ", ") + k;
    return InvalidArgument(fmt::format("unknown kind '{}': one of {}", request.kind, known))
        .WithReason("unknown_kind");
  }
  if (request.priority < 0 || request.priority > 100) {
    return InvalidArgument(
        "\"priority\" must be an integer from 0 (now playing) to 100; 10 is normal, 20 "
        "background");
  }
  if (request.max_attempts < 1 || request.max_attempts > 20) {
    return InvalidArgument("\"max_attempts\" must be from 1 to 20");
  }
  auto counts = engine.store().CountJobs();
  if (!counts.ok()) return counts.status();
  const int64_t unfinished = counts->pending + counts->processing;
  if (unfinished >= request.queue_limit) {
    return ResourceExhausted(fmt::format("{} jobs are waiting or running (limit {}); try again "
                                         "later",
                                         unfinished, request.queue_limit))
        .WithReason("busy");
  }
  auto payload = kind->Validate(request.payload, engine.paths());
  if (!payload.ok()) return payload.status();

  store::NewJob job;
  job.kind = request.kind;
  job.payload = std::move(payload).value();
  job.priority = request.priority;
  job.max_attempts = request.max_attempts;
  job.idempotency_key = request.idempotency_key;
  job.request_hash = request.request_hash;
  SubmitJobResult result;
  auto submitted = engine.store().SubmitJob(job, &result.replayed);
  if (!submitted.ok()) {
    if (submitted.status().reason() == "idempotency_mismatch") {
      return Unsupported(submitted.status().message()).WithReason("idempotency_mismatch");
    }
    return submitted.status();
  }
  result.job = std::move(submitted).value();
  if (!result.replayed) runner.Wake();
  return result;
}

Result<store::JobRecord> GetJob(Engine& engine, int64_t id) {
  auto job = engine.store().GetJob(id);
  if (!job.ok()) return job.status();
  if (!*job) return NotFound(fmt::format("no job {}", id));
  return std::move(**job);
}

Result<std::vector<store::JobRecord>> ListJobs(Engine& engine, std::optional<store::JobState> state,
                                               size_t limit) {
  return engine.store().ListJobs(state, limit);
}

Result<store::JobRecord> CancelJob(Engine& engine, int64_t id) {
  auto job = engine.store().CancelJob(id);
  if (!job.ok()) return job.status();
  if (!*job) return NotFound(fmt::format("no job {}", id));
  const auto state = (*job)->state;
  if (state == store::JobState::kCompleted || state == store::JobState::kFailed) {
    return Conflict(fmt::format("job {} already {}", id, store::JobStateName(state)))
        .WithReason("finished");
  }
  engine.job_events().Notify(id);
  return std::move(**job);
}

namespace {

bool Finished(store::JobState s) {
  return s == store::JobState::kCompleted || s == store::JobState::kFailed ||
         s == store::JobState::kCancelled;
}

// What a listener has seen of a job: a change in any of these is news.
std::string Fingerprint(const store::JobRecord& job) {
  return fmt::format("{}|{}|{}|{}", store::JobStateName(job.state), job.attempts, job.progress,
                     job.updated_at);
}

}  // namespace

JobEvents::JobEvents(store::Store& store, const Clock& clock, Clock::Duration poll,
                     Clock::Duration heartbeat)
    : store_(store), clock_(clock), poll_(poll), heartbeat_(heartbeat) {}

JobEvents::~JobEvents() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<uint64_t> JobEvents::Subscribe(int64_t job_id, Listener listener) {
  auto job = store_.GetJob(job_id);
  if (!job.ok()) return job.status();
  if (!*job) return NotFound(fmt::format("no job {}", job_id));
  uint64_t token = 0;
  {
    std::lock_guard lock(mu_);
    token = next_token_++;
    subscriptions_[token] = Subscription{job_id, std::move(listener), "", {}};
    notified_.insert(job_id);  // the first call: the job as it is now
    if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
  }
  wake_.notify_all();
  return token;
}

void JobEvents::Unsubscribe(uint64_t token) {
  std::lock_guard lock(mu_);
  subscriptions_.erase(token);
}

void JobEvents::Notify(int64_t job_id) {
  {
    std::lock_guard lock(mu_);
    if (subscriptions_.empty()) return;
    notified_.insert(job_id);
  }
  wake_.notify_all();
}

size_t JobEvents::subscriptions() const {
  std::lock_guard lock(mu_);
  return subscriptions_.size();
}

void JobEvents::Loop() {
  std::unique_lock lock(mu_);
  auto last_poll = clock_.Now();
  while (!stopping_) {
    clock_.WaitUntil(lock, wake_, last_poll + poll_,
                     [this] { return stopping_ || !notified_.empty(); });
    if (stopping_) return;
    const auto now = clock_.Now();
    const bool poll = now >= last_poll + poll_;
    if (poll) last_poll = now;
    std::set<int64_t> notified;
    notified.swap(notified_);
    // Which jobs to read: the notified ones, and on a poll every job someone follows.
    std::set<int64_t> wanted;
    for (const auto& [token, s] : subscriptions_) {
      if (poll || notified.count(s.job_id) != 0) wanted.insert(s.job_id);
    }
    lock.unlock();
    std::map<int64_t, std::optional<store::JobRecord>> jobs;
    for (int64_t id : wanted) {
      auto job = store_.GetJob(id);
      if (!job.ok()) {
        spdlog::warn("job events: job {} was not read: {}", id, job.status().message());
        continue;
      }
      jobs[id] = std::move(*job);
    }
    lock.lock();
    // Listeners run under the lock, one at a time; they only hand text to a stream.
    for (auto it = subscriptions_.begin(); it != subscriptions_.end();) {
      Subscription& s = it->second;
      bool keep = true;
      auto found = jobs.find(s.job_id);
      if (found != jobs.end() && found->second.has_value()) {
        const store::JobRecord& job = *found->second;
        const std::string seen = Fingerprint(job);
        if (seen != s.last_sent) {
          s.last_sent = seen;
          s.last_sent_at = now;
          keep = s.listener(&job) && !Finished(job.state);
        }
      } else if (found != jobs.end()) {
        keep = false;  // the job is gone
      }
      if (keep && now - s.last_sent_at >= heartbeat_) {
        s.last_sent_at = now;
        keep = s.listener(nullptr);
      }
      it = keep ? std::next(it) : subscriptions_.erase(it);
    }
  }
}

}  // namespace timbre::service
