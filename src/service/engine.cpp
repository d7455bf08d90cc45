#include "timbre/service/engine.h"

#include <limits>

#include <spdlog/spdlog.h>

#include "timbre/index/vector_index.h"
#include "timbre/models/model_cache.h"
#include "timbre/models/registry.h"
#include "timbre/service/index_cache.h"
#include "timbre/service/jobs.h"

namespace timbre::service {
namespace {

Result<jobs::JobRunnerOptions> RunnerOptions(const Config& config, const ResourceBudget& budget,
                                             const Clock& clock) {
  jobs::JobRunnerOptions o;
  o.workers = budget.job_workers;
  o.clock = &clock;
  o.lease = std::chrono::milliseconds(static_cast<int64_t>(config.Number("jobs.lease_s") * 1000));
  o.worker_id = config.Text("jobs.worker_id");
  const std::string& timeouts = config.Text("jobs.timeout");
  if (!timeouts.empty()) {
    const Status s = jobs::ParseJobTimeouts(timeouts, o);
    if (!s.ok()) return s;
  }
  return o;
}

}  // namespace

Engine::Engine(EngineOptions options) : options_(std::move(options)) {}

Engine::~Engine() {
  if (runner_) runner_->Stop(std::chrono::milliseconds(0));
  // The caches' background work reads the store and the pools: they go first.
  indexes_.reset();
  job_events_.reset();
  background_.reset();
}

Result<std::unique_ptr<Engine>> Engine::Open(EngineOptions options) {
  auto engine = std::unique_ptr<Engine>(new Engine(std::move(options)));
  Engine& e = *engine;
  const Config& config = e.options_.config;
  e.budget_ = BudgetFrom(config, HardwareThreads());
  const bool server = e.options_.role == EngineRole::kServer;
  e.paths_ = server ? PathPolicy::Within({config.List("library.roots").begin(),
                                          config.List("library.roots").end()})
                    : PathPolicy::Unconfined();

  // A command waits for its index anyway: it opens it on its own thread.
  e.background_ =
      std::make_unique<ThreadPool>(server ? e.budget_.background_threads : 0, "timbre-bg");
  // Process-wide thread counts of the libraries, from the budget: BLAS calls run inside
  // analysis threads, so one thread each; FAISS builds use the index threads.
  SetBlasThreads(e.budget_.blas_threads);
  index::SetBuildThreads(e.budget_.index_threads);
  if (!config.Text("models.torch_plugin").empty()) {
    models::UseTorchPlugin(config.Text("models.torch_plugin"));
  }

  if (!e.options_.open_store) return engine;
  auto store = store::OpenStore(config.Text("store.db"));
  if (!store.ok()) return store.status();
  e.store_ = std::move(store).value();

  IndexCacheOptions index_options;
  index_options.graph_from = server ? e.options_.graph_from : std::numeric_limits<size_t>::max();
  e.indexes_ = std::make_unique<IndexCache>(*e.store_, e.clock(), *e.background_, index_options);
  e.summaries_ = std::make_unique<SummaryCache>(*e.store_, e.clock());
  e.job_events_ = std::make_unique<JobEvents>(*e.store_, e.clock());

  auto runner_options = RunnerOptions(config, e.budget_, e.clock());
  if (!runner_options.ok()) return runner_options.status();
  JobEvents* events = e.job_events_.get();
  runner_options->on_change = [events](int64_t id) { events->Notify(id); };
  if (server) runner_options->priority = ThreadPriority::kBackground;
  e.runner_ = std::make_unique<jobs::JobRunner>(*e.store_, *runner_options);
  for (auto& kind : BuiltinJobKinds(e)) e.runner_->Register(std::move(kind));
  return engine;
}

ThreadPool& Engine::analysis_pool() {
  // The caller of a ParallelFor works too: the pool holds the other threads.
  std::call_once(analysis_pool_once_, [this] {
    // A server's analyses give way to its requests when the cores are short.
    analysis_pool_ = std::make_unique<ThreadPool>(budget_.analysis_threads - 1, "timbre-analyse",
                                                  options_.role == EngineRole::kServer
                                                      ? ThreadPriority::kBackground
                                                      : ThreadPriority::kNormal);
  });
  return *analysis_pool_;
}

std::filesystem::path Engine::models_dir() const {
  const std::string& dir = config().Text("models.dir");
  return dir.empty() ? models::DefaultModelsDir() : std::filesystem::path(dir);
}

Result<const Analysis*> Engine::analysis() {
  std::lock_guard lock(analysis_mu_);
  if (analysis_) return analysis_.get();
  auto a = std::make_unique<Analysis>();
  analysis::RegisterBuiltinAnalyzers(a->registry);
  if (config().Bool("models.enabled")) {
    analysis::ModelSetupOptions options;
    options.dir = models_dir();
    options.memory_budget_mb = static_cast<size_t>(config().Int("models.memory_mb"));
    options.threads = budget_.model_threads;
    options.run.batch = static_cast<size_t>(config().Int("models.batch"));
    auto setup = analysis::AddModelAnalyzers(options, a->registry);
    if (!setup.ok()) return setup.status();
    a->models = std::move(setup).value();
    a->warnings = a->models->warnings;
    a->notes_missing = a->models->notes_missing;
  }
  auto pipeline = analysis::DefaultPipeline(a->registry);
  if (!pipeline.ok()) return pipeline.status();
  a->pipeline = std::make_unique<analysis::Pipeline>(std::move(pipeline).value());
  analysis_ = std::move(a);
  return analysis_.get();
}

const Analysis* Engine::analysis_if_ready() const {
  std::lock_guard lock(analysis_mu_);
  return analysis_.get();
}

Result<size_t> Engine::StartJobWorkers(const std::vector<std::string>& only_kinds) {
  return runner_->Start(only_kinds);
}

void Engine::StopJobWorkers(std::chrono::milliseconds grace) { runner_->Stop(grace); }

Result<std::unique_ptr<Engine>> OpenCommandEngine(const Config& config) {
  EngineOptions options;
  options.config = config;
  return Engine::Open(std::move(options));
}

}  // namespace timbre::service
