// timbre serve: the HTTP API and the job workers, until SIGTERM or SIGINT.
#include <csignal>
#include <cstdio>
#include <memory>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.h"
#include "timbre/server/server.h"

namespace timbre::cli {
namespace {

bool Loopback(const std::string& bind) {
  return bind.rfind("127.", 0) == 0 || bind == "::1" || bind == "localhost";
}

int RunServe(const GlobalOptions& global) {
  // The threads started below inherit this mask, so only sigwait() sees these signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto engine = OpenEngine(global, service::EngineRole::kServer);
  if (!engine.ok()) return FailWith(engine.status());
  service::Engine& e = **engine;
  // The analyzers are set up now, so that their warnings show at start and the first job or
  // /manifest does not wait for the models folder.
  auto analysis = e.analysis();
  if (!analysis.ok()) return FailWith(analysis.status());
  for (const auto& w : (*analysis)->warnings) {
    std::fprintf(stderr, "timbre: warning: %s\n", w.c_str());
  }
  auto requeued = e.StartJobWorkers();
  if (!requeued.ok()) return FailWith(requeued.status());
  auto api = server::ApiServer::Start(e);
  if (!api.ok()) {
    e.StopJobWorkers(std::chrono::milliseconds(0));
    return FailWith(api.status());
  }
  const Config& config = e.config();
  const bool secured =
      !config.Text("auth.secret").empty() || !config.Text("auth.api_keys_file").empty();
  for (const auto& bind : config.List("server.bind")) {
    if (!Loopback(bind) && !secured) {
      spdlog::warn(
          "serving on {} without INTERNAL_API_SECRET or --api-keys: anyone who can reach "
          "it can use it",
          bind);
    }
  }
  std::string where;
  for (const auto& url : (*api)->urls()) where += (where.empty() ? "" : ", ") + url;
  std::printf(
      "timbre: serving on %s (store %s, %d job workers%s%s)\n", where.c_str(),
      e.store().description().c_str(), e.budget().job_workers, secured ? ", secret required" : "",
      *requeued > 0 ? fmt::format(", {} interrupted jobs requeued", *requeued).c_str() : "");
  std::fflush(stdout);

  int signal = 0;
  sigwait(&stop_signals, &signal);
  std::printf("timbre: %s received: stopping\n", signal == SIGTERM ? "SIGTERM" : "SIGINT");
  std::fflush(stdout);
  (*api)->Stop();
  // Running jobs get the grace period, then go back to the queue for the next start.
  e.StopJobWorkers(
      std::chrono::milliseconds(static_cast<int64_t>(config.Number("jobs.grace_s") * 1000)));
  std::printf("timbre: stopped\n");
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app, GlobalOptions& global) {
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "Serve the HTTP API (docs/api.md; GET /openapi.json) and run queued jobs until SIGTERM. "
      "Binds 127.0.0.1 by default. With INTERNAL_API_SECRET or --api-keys set, every route "
      "but /health needs the secret. Job workers: --workers or TIMBRE_MAX_CONCURRENT_JOBS "
      "(default 2); time limits: TIMBRE_JOB_TIMEOUT (seconds, or kind=seconds,...). Every "
      "setting can also come from the configuration file (timbre config show).");
  AddSettingOption(cmd, global, "--bind", "server.bind",
                   "address to listen on, IPv4 or IPv6 (repeatable; \"::\" listens on every "
                   "address of both) [default 127.0.0.1]");
  AddSettingOption(cmd, global, "--port,-p", "server.port");
  AddSettingOption(cmd, global, "--threads", "budget.http_threads");
  AddSettingOption(cmd, global, "--library,-l", "library.roots",
                   "library folder that file paths in requests must lie under (repeatable)");
  AddSettingOption(cmd, global, "--api-keys", "auth.api_keys_file");
  AddSettingOption(cmd, global, "--rate-limit", "server.rate_limit");
  AddSettingOption(cmd, global, "--rate-burst", "server.rate_burst");
  AddSettingOption(cmd, global, "--max-body", "server.max_body");
  AddSettingOption(cmd, global, "--max-upload", "server.max_upload");
  AddSettingOption(cmd, global, "--max-queued-jobs", "server.max_queued_jobs");
  AddSettingOption(cmd, global, "--workers", "jobs.workers");
  AddSettingOption(cmd, global, "--scan-threads,--jobs", "budget.analysis_threads",
                   "files analysed at once, shared by every scan job (default: the cores)");
  AddSettingOption(cmd, global, "--cores", "budget.cores");
  AddSettingOption(cmd, global, "--grace", "jobs.grace_s");
  AddSettingOption(cmd, global, "--lease", "jobs.lease_s");
  AddSettingOption(cmd, global, "--worker-id", "jobs.worker_id");
  AddModelOptions(cmd, global);
  cmd->callback([&global] { global.exit_code = RunServe(global); });
}

}  // namespace timbre::cli
