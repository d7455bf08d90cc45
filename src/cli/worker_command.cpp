// timbre worker: runs queued jobs from the store, and nothing else (no HTTP), until SIGTERM or
// SIGINT. Several workers, on one machine or many, share one store's queue: each job is
// leased to one of them (store/job_records.h).
#include <csignal>
#include <cstdio>
#include <sstream>

#include <fmt/format.h>

#include "commands.h"

namespace timbre::cli {
namespace {

std::vector<std::string> SplitKinds(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string kind;
  while (std::getline(ss, kind, ',')) {
    if (!kind.empty()) out.push_back(kind);
  }
  return out;
}

int RunWorker(const GlobalOptions& global, const std::string& kinds) {
  // The threads started below inherit this mask, so only sigwait() sees these signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto engine = OpenEngine(global, service::EngineRole::kServer);
  if (!engine.ok()) return FailWith(engine.status());
  service::Engine& e = **engine;
  if (e.jobs().workers() < 1) {
    return FailWith(InvalidArgument("a worker runs at least one job at once (--workers 1 or more)"));
  }
  auto analysis = e.analysis();
  if (!analysis.ok()) return FailWith(analysis.status());
  for (const auto& w : (*analysis)->warnings) {
    std::fprintf(stderr, "timbre: warning: %s\n", w.c_str());
  }
  const std::vector<std::string> only = SplitKinds(kinds);
  auto requeued = e.StartJobWorkers(only);
  if (!requeued.ok()) return FailWith(requeued.status());
  std::string taken;
  for (const auto& k : only.empty() ? e.jobs().kinds() : only) {
    taken += (taken.empty() ? "" : ",") + k;
  }
  std::printf("timbre: worker %s running %s jobs (store %s, %d at once, lease %g s%s)\n",
              e.jobs().worker_id().c_str(), taken.c_str(), e.store().description().c_str(),
              e.jobs().workers(), e.config().Number("jobs.lease_s"),
              *requeued > 0 ? fmt::format(", {} interrupted jobs requeued", *requeued).c_str()
                            : "");
  std::fflush(stdout);

  int signal = 0;
  sigwait(&stop_signals, &signal);
  std::printf("timbre: %s received: stopping\n", signal == SIGTERM ? "SIGTERM" : "SIGINT");
  std::fflush(stdout);
  // Running jobs get the grace period, then go back to the queue for another worker.
  e.StopJobWorkers(
      std::chrono::milliseconds(static_cast<int64_t>(e.config().Number("jobs.grace_s") * 1000)));
  std::printf("timbre: stopped (%lld completed here)\n",
              static_cast<long long>(e.jobs().completed()));
  return 0;
}

}  // namespace

void AddWorkerCommand(CLI::App& app, GlobalOptions& global) {
  CLI::App* cmd = app.add_subcommand(
      "worker",
      "Run queued jobs from the store, without HTTP, until SIGTERM. Start as many as you like, "
      "on one machine or several sharing a store: each job runs on one of them, held by a "
      "lease its worker renews (--lease); a worker that dies or hangs loses its jobs to the "
      "others when the lease runs out. SIGTERM lets running jobs finish for --grace seconds, "
      "then hands them back.");
  static std::string kinds;
  cmd->add_option("--kinds", kinds,
                  "job kinds to take, comma-separated (default: every kind: scan, analyze, "
                  "write-tags)");
  AddSettingOption(cmd, global, "--workers", "jobs.workers");
  AddSettingOption(cmd, global, "--lease", "jobs.lease_s");
  AddSettingOption(cmd, global, "--worker-id", "jobs.worker_id");
  AddSettingOption(cmd, global, "--library,-l", "library.roots",
                   "library folder that job paths must lie under (repeatable)");
  AddSettingOption(cmd, global, "--scan-threads,--jobs", "budget.analysis_threads",
                   "files analysed at once, shared by every scan job (default: the cores)");
  AddSettingOption(cmd, global, "--cores", "budget.cores");
  AddSettingOption(cmd, global, "--grace", "jobs.grace_s");
  AddModelOptions(cmd, global);
  cmd->callback([&global] { global.exit_code = RunWorker(global, kinds); });
}

}  // namespace timbre::cli
