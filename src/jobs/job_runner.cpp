#include "timbre/jobs/job_runner.h"

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
  Context(JobRunner& runner, int64_t id, Clock::TimePoint deadline)
      : runner_(runner), id_(id), deadline_(deadline) {}

  void Progress(int64_t current, int64_t total, const std::string& message) override {
    const double percent = total > 0 ? 100.0 * static_cast<double>(current) / total : 0.0;
    nlohmann::json p{
        {"current", current}, {"total", total}, {"percent", percent}, {"message", message}};
    const Status s = runner_.store_.SetJobProgress(
        id_, p.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    if (!s.ok()) spdlog::warn("job {}: progress not saved: {}", id_, s.message());
    runner_.Changed(id_);
  }

  bool ShouldStop() const override {
    if (runner_.abort_running_) return true;
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
  bool cancelled() const {
    ShouldStop();
    return cancelled_;
  }

 private:
  JobRunner& runner_;
  int64_t id_;
  Clock::TimePoint deadline_;
  mutable bool checked_ = false;
  mutable Clock::TimePoint last_check_{};
  mutable bool timed_out_ = false;
  mutable bool cancelled_ = false;
};

JobRunner::JobRunner(store::Store& store, JobRunnerOptions options)
    : store_(store), options_(std::move(options)) {
  if (options_.workers < 1) options_.workers = 1;
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

Result<size_t> JobRunner::Start() {
  auto requeued = store_.RequeueInterruptedJobs();
  if (!requeued.ok()) return requeued.status();
  for (int i = 0; i < options_.workers; ++i) {
    threads_.emplace_back([this] {
      SetCurrentThreadPriority(options_.priority);
      WorkerLoop();
    });
  }
  return requeued;
}

void JobRunner::Stop(std::chrono::milliseconds grace) {
  {
    std::lock_guard lock(mu_);
    if (threads_.empty()) return;
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
    auto job = store_.ClaimJob(options_.clock->UnixMs());
    if (!job.ok()) {
      spdlog::error("job queue: {}", job.status().message());
    } else if (job->has_value()) {
      ++active_;
      Changed((*job)->id);
      Run(**job);
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

void JobRunner::Run(const store::JobRecord& job) {
  auto it = kinds_.find(job.kind);
  if (it == kinds_.end()) {
    (void)store_.FailJobAttempt(job.id, fmt::format("no handler for kind '{}'", job.kind), -1);
    return;
  }
  auto limit = options_.default_timeout;
  if (auto t = options_.timeouts.find(job.kind); t != options_.timeouts.end()) limit = t->second;
  Context context(*this, job.id, options_.clock->Now() + limit);

  Result<std::string> result = Internal("not run");
  try {
    result = it->second->Run(job, context);
  } catch (const std::exception& e) {
    result = Internal(fmt::format("the {} handler threw: {}", job.kind, e.what()));
  }

  Result<bool> recorded = false;
  if (result.ok()) {
    recorded = store_.CompleteJob(job.id, *result);
    if (recorded.ok() && *recorded) ++completed_;
  } else if (abort_running_) {
    // The server is stopping: back to the queue, to run again after the restart.
    recorded = store_.FailJobAttempt(job.id, "interrupted: the server stopped", 0);
  } else if (context.cancelled()) {
    recorded = store_.MarkJobCancelled(job.id);
  } else {
    ++failed_attempts_;
    const Status error = context.timed_out()
                             ? DeadlineExceeded(fmt::format("timed out after {} s", limit.count()))
                                   .WithReason("timeout")
                             : result.status();
    const bool retry = InfoOf(error.code()).retryable && job.attempts < job.max_attempts;
    const int64_t retry_at = retry ? options_.clock->UnixMs() + Backoff(job.attempts).count() : -1;
    recorded = store_.FailJobAttempt(job.id, error.message(), retry_at);
  }
  if (!recorded.ok()) {
    spdlog::error("job {}: outcome not recorded: {}", job.id, recorded.status().message());
  }
}

}  // namespace timbre::jobs
