// timbre serve: the HTTP API and the job workers, until SIGTERM or SIGINT.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.h"
#include "model_options.h"
#include "timbre/analysis/registry.h"
#include "timbre/jobs/job_kinds.h"
#include "timbre/jobs/job_runner.h"
#include "timbre/server/server.h"

namespace timbre::cli {
namespace {

struct ServeArgs {
  std::string bind = "127.0.0.1";
  int port = 8484;
  int threads = 2;
  std::vector<std::string> libraries;
  std::string api_keys;
  double rate = 1000;
  double burst = 2000;
  size_t max_body = 1 << 20;
  int workers = 2;
  int scan_threads = 0;
  double grace_s = 10;
  ModelArgs models;
};

// Reads an integer environment variable; `fallback` when unset.
Result<int> EnvInt(const char* name, int fallback, int lo, int hi) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  if (*end != '\0' || n < lo || n > hi) {
    return InvalidArgument(
        fmt::format("{}='{}' must be an integer from {} to {}", name, v, lo, hi));
  }
  return static_cast<int>(n);
}

bool Loopback(const std::string& bind) { return bind.rfind("127.", 0) == 0; }

int RunServe(const ServeArgs& args, const GlobalOptions& global) {
  // The threads started below inherit this mask, so only sigwait() sees these signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto workers = EnvInt("TIMBRE_MAX_CONCURRENT_JOBS", args.workers, 1, 256);
  if (!workers.ok()) return FailWith(workers.status());
  jobs::JobRunnerOptions runner_options;
  runner_options.workers = *workers;
  if (const char* t = std::getenv("TIMBRE_JOB_TIMEOUT"); t != nullptr && *t != '\0') {
    const Status s = jobs::ParseJobTimeouts(t, runner_options);
    if (!s.ok()) return FailWith(s);
  }

  analysis::Registry registry;
  analysis::RegisterBuiltinAnalyzers(registry);
  auto models = SetUpModels(args.models, registry, false);
  if (!models.ok()) return Fail(models.status().message(), 2);
  auto pipeline = analysis::DefaultPipeline(registry);
  if (!pipeline.ok()) return Fail(pipeline.status().ToString());
  auto store = store::OpenStore(StoreUrl(global));
  if (!store.ok()) return Fail(store.status().message(), 2);

  jobs::JobRunner runner(**store, runner_options);
  jobs::BuiltinJobOptions job_options;
  job_options.scan_threads =
      args.scan_threads > 0
          ? args.scan_threads
          : std::max(1u, std::thread::hardware_concurrency()) / static_cast<unsigned>(*workers);
  jobs::RegisterBuiltinJobs(runner, **store, *pipeline, job_options);

  server::ServerOptions options;
  options.http.bind = args.bind;
  options.http.port = args.port;
  options.http.threads = args.threads;
  options.http.max_body_bytes = args.max_body;
  for (const auto& l : args.libraries) options.library_roots.emplace_back(l);
  if (const char* s = std::getenv("INTERNAL_API_SECRET"); s != nullptr) options.secret = s;
  options.api_keys_file = args.api_keys;
  options.rate_per_second = args.rate;
  options.rate_burst = args.burst;
  options.analyzers = &registry;
  options.models = models->get();

  auto requeued = runner.Start();
  if (!requeued.ok()) return FailWith(requeued.status());
  auto api = server::ApiServer::Start(**store, runner, options);
  if (!api.ok()) {
    runner.Stop(std::chrono::milliseconds(0));
    return FailWith(api.status());
  }
  const bool secured = !options.secret.empty() || !options.api_keys_file.empty();
  if (!Loopback(args.bind) && !secured) {
    spdlog::warn(
        "serving on {} without INTERNAL_API_SECRET or --api-keys: anyone who can reach "
        "it can use it",
        args.bind);
  }
  std::printf(
      "timbre: serving on http://%s:%d (store %s, %d job workers%s%s)\n", args.bind.c_str(),
      (*api)->port(), (*store)->description().c_str(), *workers, secured ? ", secret required" : "",
      *requeued > 0 ? fmt::format(", {} interrupted jobs requeued", *requeued).c_str() : "");
  std::fflush(stdout);

  int signal = 0;
  sigwait(&stop_signals, &signal);
  std::printf("timbre: %s received: stopping\n", signal == SIGTERM ? "SIGTERM" : "SIGINT");
  std::fflush(stdout);
  (*api)->Stop();
  // Running jobs get the grace period, then go back to the queue for the next start.
  runner.Stop(std::chrono::milliseconds(static_cast<int64_t>(args.grace_s * 1000)));
  std::printf("timbre: stopped\n");
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app, GlobalOptions& global) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "Serve the HTTP API (docs/api.md; GET /openapi.json) and run queued jobs until SIGTERM. "
      "Binds 127.0.0.1 by default. With INTERNAL_API_SECRET or --api-keys set, every route "
      "but /health needs the secret. Job workers: TIMBRE_MAX_CONCURRENT_JOBS (default 2); "
      "time limits: TIMBRE_JOB_TIMEOUT (seconds, or kind=seconds,...).");
  cmd->add_option("--bind", args->bind, "address to listen on")->capture_default_str();
  cmd->add_option("--port,-p", args->port, "port (0: any free one, printed at start)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--threads", args->threads, "HTTP threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--library,-l", args->libraries,
                  "library folder that file paths in requests must lie under (repeatable)");
  cmd->add_option("--api-keys", args->api_keys, "file of API keys, one \"NAME KEY\" per line");
  cmd->add_option("--rate-limit", args->rate, "requests per second per client (0: no limit)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--rate-burst", args->burst, "requests a client may send at once")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-body", args->max_body, "largest request body in bytes")
      ->capture_default_str();
  cmd->add_option("--workers", args->workers,
                  "jobs run at once (TIMBRE_MAX_CONCURRENT_JOBS overrides)")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--scan-threads", args->scan_threads,
                  "analysis threads inside one scan job (default: cores / workers)");
  cmd->add_option("--grace", args->grace_s,
                  "seconds running jobs get to finish at SIGTERM before they are requeued")
      ->capture_default_str();
  AddModelOptions(cmd, args->models);
  cmd->callback([args, &global] { global.exit_code = RunServe(*args, global); });
}

}  // namespace timbre::cli
