// The engine: the long-lived parts of one timbre process, made once from the configuration and
// shared by every front door (CLI commands, the HTTP API, job workers). The use cases
// (service/*.h) take an Engine and typed requests; front doors only parse, call and render.
//
// What it owns, and when each part comes to life:
//   - the store, opened by Open();
//   - the resource budget and the thread pools sized from it (analysis, background);
//   - the analyzers: built-ins plus the models folder's, their model cache and the default
//     pipeline, set up on first use (reading and verifying the models folder takes time);
//   - the index cache (vector indexes per space, refreshed as the store changes) and the
//     summary cache (track summaries that playlists return);
//   - the job runner with every job kind registered (workers start only when asked).
//
// Thread safety: every method may be called from any thread once Open() has returned.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "timbre/analysis/model_analyzers.h"
#include "timbre/analysis/pipeline.h"
#include "timbre/analysis/registry.h"
#include "timbre/core/clock.h"
#include "timbre/core/config.h"
#include "timbre/core/paths.h"
#include "timbre/core/resource_budget.h"
#include "timbre/core/thread_pool.h"
#include "timbre/jobs/job_runner.h"
#include "timbre/store/store.h"

namespace timbre::service {

class IndexCache;
class SummaryCache;
class JobEvents;

// What kind of process the engine serves: a one-shot command runs its work on the calling
// thread and never rebuilds an index as a graph for itself; a server keeps pools and caches.
enum class EngineRole { kCommand, kServer };

struct EngineOptions {
  Config config;
  EngineRole role = EngineRole::kCommand;
  const Clock* clock = &SystemClock();  // must outlive the engine
  // Commands about models and analyzers need no library: then no store is opened (nor a file
  // made), and store(), the caches and the job runner are not there to call.
  bool open_store = true;
  // Index cache: from how many vectors a server searches an exact index through an HNSW
  // graph it builds in memory (a one-shot command never does).
  size_t graph_from = 5000;
};

// Built-in analyzers, the models folder's analyzers and the default pipeline over them.
struct Analysis {
  analysis::Registry registry;
  std::unique_ptr<analysis::ModelSetup> models;  // null when models are turned off
  std::unique_ptr<analysis::Pipeline> pipeline;
  std::vector<std::string> warnings;  // models left out, and why
  std::string notes_missing;          // why `notes` is absent, with the command to install it
};

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> Open(EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const Config& config() const { return options_.config; }
  const ResourceBudget& budget() const { return budget_; }
  const Clock& clock() const { return *options_.clock; }
  EngineRole role() const { return options_.role; }
  store::Store& store() { return *store_; }
  // Where file paths named in requests may lie (library.roots); a command is unconfined.
  const PathPolicy& paths() const { return paths_; }
  std::filesystem::path models_dir() const;

  // The analyzers and pipeline, set up on first call (later calls return the same).
  Result<const Analysis*> analysis();
  // The analyzers already set up, or null: for listings that must not load models.
  const Analysis* analysis_if_ready() const;

  // Threads for analysing files, started on first use.
  ThreadPool& analysis_pool();
  // Slow work that must not hold a caller up (index builds); runs inline for a command.
  ThreadPool& background() { return *background_; }
  IndexCache& indexes() { return *indexes_; }
  SummaryCache& summaries() { return *summaries_; }
  JobEvents& job_events() { return *job_events_; }
  jobs::JobRunner& jobs() { return *runner_; }

  // Starts the job workers (requeueing what a killed process left running); returns how
  // many jobs were requeued.
  Result<size_t> StartJobWorkers(const std::vector<std::string>& only_kinds = {});
  // Stops them: running jobs get `grace`, then go back to the queue.
  void StopJobWorkers(std::chrono::milliseconds grace);

 private:
  explicit Engine(EngineOptions options);

  EngineOptions options_;
  ResourceBudget budget_;
  PathPolicy paths_;
  std::unique_ptr<store::Store> store_;
  std::once_flag analysis_pool_once_;
  std::unique_ptr<ThreadPool> analysis_pool_;
  std::unique_ptr<ThreadPool> background_;
  std::unique_ptr<IndexCache> indexes_;
  std::unique_ptr<SummaryCache> summaries_;
  std::unique_ptr<JobEvents> job_events_;
  std::unique_ptr<jobs::JobRunner> runner_;

  mutable std::mutex analysis_mu_;
  std::unique_ptr<Analysis> analysis_;  // guarded by analysis_mu_ until set
};

// Opens an engine for a command from its resolved configuration.
Result<std::unique_ptr<Engine>> OpenCommandEngine(const Config& config);

}  // namespace timbre::service
