#include "timbre/jobs/job_runner.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace timbre::jobs {
namespace {

// A kind made of a handler alone.
class HandlerKind final : public JobKind {
 public:
  HandlerKind(std::string name, JobHandler handler)
      : name_(std::move(name)), handler_(std::move(handler)) {}
  const std::string& name() const override { return name_; }
  Result<std::string> Validate(std::string_view payload, const PathPolicy&) const override {
    return std::string(payload);
  }
  Result<std::string> Run(const store::JobRecord& job, JobContext& context) const override {
    return handler_(job, context);
  }

 private:
  std::string name_;
  JobHandler handler_;
};

Result<std::chrono::seconds> ParseSeconds(std::string_view text) {
  try {
    size_t used = 0;
    const double v = std::stod(std::string(text), &used);
    if (used == text.size() && v > 0) {
      return std::chrono::seconds(static_cast<int64_t>(v + 0.5));
    }
  } catch (const std::exception&) {
  }
  return InvalidArgument(fmt::format("'{}' is not a number of seconds", text));
}

}  // namespace

std::string DefaultWorkerId() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return fmt::format("{}:{}", host[0] != '\0' ? host : "localhost", getpid());
}

bool WorkerIsGoneFromThisHost(const std::string& worker) {
  const auto colon = worker.rfind(':');
  if (colon == std::string::npos) return false;
  const std::string self = DefaultWorkerId();
  if (worker.compare(0, colon + 1, self, 0, self.rfind(':') + 1) != 0) return false;
  pid_t pid = 0;
  for (char c : worker.substr(colon + 1)) {
    if (c < '0' || c > '9' || pid > 100'000'000) return false;
    pid = pid * 10 + (c - '0');
  }
  // No such process: gone. A pid reused by another process looks alive, and the job then
  // waits for its lease to end, which is still right.
  return pid > 0 && kill(pid, 0) != 0 && errno == ESRCH;
}

Status ParseJobTimeouts(std::string_view text, JobRunnerOptions& options) {
  std::stringstream ss{std::string(text)};
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string::npos) {
      auto s = ParseSeconds(item);
      if (!s.ok()) return InvalidArgument("TIMBRE_JOB_TIMEOUT: " + s.status().message());
      options.default_timeout = *s;
      continue;
    }
    auto s = ParseSeconds(std::string_view(item).substr(eq + 1));
    if (!s.ok() || eq == 0) {
      return InvalidArgument(fmt::format(
          "TIMBRE_JOB_TIMEOUT: '{}' should be SECONDS or KIND=SECONDS, comma-separated", item));
    }
    options.timeouts[item.substr(0, eq)] = *s;
  }
  return Status::Ok();
}

// One running job's view of the runner. The cancel flag lives in the store (a DELETE may
// come through another process), so it is read at most every `cancel_check`.
class JobRunner::Context : public JobContext {
 public:
  Context(JobRunner& runner, int64_t id, Clock::TimePoint deadline,
          std::shared_ptr<std::atomic<bool>> lease_lost)
      : runner_(runner), id_(id), deadline_(deadline), lease_lost_(std::move(lease_lost)) {}

  void Progress(int64_t current, int64_t total, const std::string& message) override {
    const double percent = total > 0 ? 100.0 * static_cast<double>(current) / total : 0.0;
    nlohmann::json p{
        {"current", current}, {"total", total}, {"percent", percent}, {"message", message}};
    const Status s = runner_.store_.SetJobProgress(
        id_, runner_.options_.worker_id,
        p.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    if (!s.ok()) spdlog::warn("job {}: progress not saved: {}", id_, s.message());
    runner_.Changed(id_);
  }

  bool ShouldStop() const override {
    if (runner_.abort_running_ || lease_lost()) return true;
    const auto now = runner_.options_.clock->Now();
    if (now > deadline_) {
      timed_out_ = true;
      return true;
    }
    if (!checked_ || now - last_check_ >= runner_.options_.cancel_check) {
      checked_ = true;
      last_check_ = now;
      auto job = runner_.store_.GetJob(id_);
      if (job.ok() && job->has_value() && (*job)->cancel_requested) cancelled_ = true;
    }
    return cancelled_;
  }

  bool timed_out() const { return timed_out_; }
  bool lease_lost() const { return lease_lost_->load(); }
  bool cancelled() const {
    ShouldStop();
    return cancelled_;
  }

 private:
  JobRunner& runner_;
  int64_t id_;
  Clock::TimePoint deadline_;
  std::shared_ptr<std::atomic<bool>> lease_lost_;
  mutable bool checked_ = false;
  mutable Clock::TimePoint last_check_{};
  mutable bool timed_out_ = false;
  mutable bool cancelled_ = false;
};

JobRunner::JobRunner(store::Store& store, JobRunnerOptions options)
    : store_(store), options_(std::move(options)) {
  options_.workers = std::max(options_.workers, 0);  // 0: an API node that only queues
  if (options_.worker_id.empty()) options_.worker_id = DefaultWorkerId();
  options_.lease = std::max(options_.lease, std::chrono::milliseconds(300));
}

JobRunner::~JobRunner() { Stop(std::chrono::milliseconds(0)); }

void JobRunner::Register(std::shared_ptr<const JobKind> kind) {
  const std::string name = kind->name();
  kinds_[name] = std::move(kind);
}

void JobRunner::Register(const std::string& kind, JobHandler handler) {
  Register(std::make_shared<HandlerKind>(kind, std::move(handler)));
}

const JobKind* JobRunner::Find(const std::string& kind) const {
  auto it = kinds_.find(kind);
  return it == kinds_.end() ? nullptr : it->second.get();
}

std::vector<std::string> JobRunner::kinds() const {
  std::vector<std::string> out;
  for (const auto& [kind, handler] : kinds_) out.push_back(kind);
  return out;
}

void JobRunner::Changed(int64_t id) const {
  if (options_.on_change) options_.on_change(id);
}

store::JobLease JobRunner::Lease() const {
  return {options_.worker_id, options_.clock->UnixMs() + options_.lease.count()};
}

Result<size_t> JobRunner::Start(const std::vector<std::string>& only_kinds) {
  for (const auto& kind : only_kinds) {
    if (kinds_.count(kind) == 0) {
      std::string known;
      for (const auto& [name, k] : kinds_) known += (known.empty() ? "" : ", ") + name;
      return InvalidArgument(fmt::format("no job kind '{}' (kinds: {})", kind, known));
    }
  }
  claim_kinds_ = only_kinds;
  // This worker's own jobs (it restarted under the same name), those of processes of this
  // host that are gone, and those of a timbre from before leases (no worker named).
  auto holders = store_.JobWorkers();
  if (!holders.ok()) return holders.status();
  std::vector<std::string> gone;
  for (const auto& w : *holders) {
    if (w.empty() || w == options_.worker_id || WorkerIsGoneFromThisHost(w)) gone.push_back(w);
  }
  auto requeued = store_.ReleaseJobsOf(gone, "interrupted: its worker stopped");
  if (!requeued.ok()) return requeued.status();
  for (int i = 0; i < options_.workers; ++i) {
    threads_.emplace_back([this] {
      SetCurrentThreadPriority(options_.priority);
      WorkerLoop();
    });
  }
  heartbeat_ = std::thread([this] { HeartbeatLoop(); });
  return requeued;
}

void JobRunner::HeartbeatLoop() {
  while (true) {
    {
      std::unique_lock lock(mu_);
      options_.clock->WaitFor(lock, wake_heartbeat_, options_.lease / 3,
                              [this] { return threads_stopped_; });
      if (threads_stopped_) return;
    }
    std::lock_guard lease_lock(lease_mu_);
    for (auto& [id, lost] : running_) {
      if (lost->load()) continue;
      auto held = store_.RenewJobLease(id, Lease());
      if (!held.ok()) {
        // The database is out of reach: keep running; the lease may still be ours when it
        // comes back, and finishing checks it then.
        spdlog::warn("job {}: lease not renewed: {}", id, held.status().message());
      } else if (!*held) {
        spdlog::warn("job {}: lease lost (the job was handed to another worker): stopping it",
                      id);
        lost->store(true);
        ++leases_lost_;
      }
    }
    // Jobs of workers that stopped renewing go back to the queue, for whoever is alive.
    auto reaped = store_.ReapExpiredLeases(options_.clock->UnixMs());
    if (!reaped.ok()) {
      spdlog::warn("job queue: expired leases not reaped: {}", reaped.status().message());
    } else if (*reaped > 0) {
      spdlog::info("job queue: {} job(s) of a worker that stopped renewing its lease requeued",
                   *reaped);
      wake_.notify_all();
    }
  }
}

void JobRunner::Stop(std::chrono::milliseconds grace) {
  {
    std::lock_guard lock(mu_);
    if (threads_.empty() && !heartbeat_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  {
    std::unique_lock lock(mu_);
    options_.clock->WaitFor(lock, idle_, grace, [this] { return active_ == 0; });
  }
  abort_running_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
  {
    std::lock_guard lock(mu_);
    threads_stopped_ = true;
  }
  wake_heartbeat_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
}

void JobRunner::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  wake_.notify_one();
}

std::chrono::milliseconds JobRunner::Backoff(int attempt) {
  // base × 2^(attempt−1), capped, then ±25 % jitter so that retries of many jobs spread.
  double ms = static_cast<double>(options_.backoff_base.count());
  for (int i = 1; i < attempt && ms < options_.backoff_max.count(); ++i) ms *= 2;
  ms = std::min(ms, static_cast<double>(options_.backoff_max.count()));
  thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(0.75, 1.25);
  return std::chrono::milliseconds(static_cast<int64_t>(ms * jitter(rng)));
}

void JobRunner::WorkerLoop() {
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    std::shared_ptr<std::atomic<bool>> lost;
    Result<std::optional<store::JobRecord>> job = std::optional<store::JobRecord>();
    {
      std::lock_guard lease_lock(lease_mu_);
      job = store_.ClaimJob(options_.clock->UnixMs(), Lease(), claim_kinds_);
      if (job.ok() && job->has_value()) {
        lost = std::make_shared<std::atomic<bool>>(false);
        running_[(*job)->id] = lost;
      }
    }
    if (!job.ok()) {
      spdlog::error("job queue: {}", job.status().message());
    } else if (job->has_value()) {
      ++active_;
      Changed((*job)->id);
      Run(**job, lost);
      {
        std::lock_guard lease_lock(lease_mu_);
        running_.erase((*job)->id);
      }
      {
        std::lock_guard lock(mu_);
        --active_;
      }
      idle_.notify_all();
      Changed((*job)->id);
      continue;
    }
    std::unique_lock lock(mu_);
    // A submit wakes a worker at once; the poll finds retries that have come due.
    options_.clock->WaitFor(lock, wake_, options_.poll, [this] { return stopping_ || woken_; });
    woken_ = false;
  }
}

void JobRunner::Run(const store::JobRecord& job, std::shared_ptr<std::atomic<bool>> lease_lost) {
  const std::string& me = options_.worker_id;
  auto it = kinds_.find(job.kind);
  if (it == kinds_.end()) {
    (void)store_.FailJobAttempt(job.id, me, fmt::format("no handler for kind '{}'", job.kind),
                                -1);
    return;
  }
  auto limit = options_.default_timeout;
  if (auto t = options_.timeouts.find(job.kind); t != options_.timeouts.end()) limit = t->second;
  Context context(*this, job.id, options_.clock->Now() + limit, std::move(lease_lost));

  Result<std::string> result = Internal("not run");
  try {
    result = it->second->Run(job, context);
  } catch (const std::exception& e) {
    result = Internal(fmt::format("the {} handler threw: {}", job.kind, e.what()));
  }

  Result<bool> recorded = false;
  if (context.lease_lost()) {
    // Another worker has the job now: whatever this run made is not its outcome.
    spdlog::warn("job {}: lease lost while it ran: its outcome is dropped", job.id);
    return;
  }
  if (result.ok()) {
    recorded = store_.CompleteJob(job.id, me, *result);
    if (recorded.ok() && *recorded) ++completed_;
    if (recorded.ok() && !*recorded) {
      spdlog::warn("job {}: finished, but it is no longer this worker's: result dropped",
                   job.id);
    }
  } else if (abort_running_) {
    // The worker is stopping: back to the queue, for another worker or the next start.
    recorded = store_.FailJobAttempt(job.id, me, "interrupted: its worker stopped", 0);
  } else if (context.cancelled()) {
    recorded = store_.MarkJobCancelled(job.id, me);
  } else {
    ++failed_attempts_;
    const Status error = context.timed_out()
                             ? DeadlineExceeded(fmt::format("timed out after {} s", limit.count()))
                                   .WithReason("timeout")
                             : result.status();
    const bool retry = InfoOf(error.code()).retryable && job.attempts < job.max_attempts;
    const int64_t retry_at = retry ? options_.clock->UnixMs() + Backoff(job.attempts).count() : -1;
    recorded = store_.FailJobAttempt(job.id, me, error.message(), retry_at);
  }
  if (!recorded.ok()) {
    spdlog::error("job {}: outcome not recorded: {}", job.id, recorded.status().message());
  }
}

}  // namespace timbre::jobs
