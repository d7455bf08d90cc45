// timbre jobs list | show | cancel: the job queue that `timbre serve` runs, read from the
// store (so it works whether or not a server is up).
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "commands.h"
#include "timbre/service/jobs.h"
#include "timbre/store/json_views.h"

namespace timbre::cli {
namespace {

struct JobsArgs {
  std::string state;
  size_t limit = 50;
  int64_t id = 0;
  bool json = false;
};

std::string Progress(const store::JobRecord& j) {
  const auto p = nlohmann::json::parse(j.progress, nullptr, false);
  if (!p.is_object() || !p.contains("percent")) return "";
  return fmt::format("{:.0f}%", p["percent"].get<double>());
}

int RunList(const JobsArgs& args, const GlobalOptions& global) {
  std::optional<store::JobState> state;
  if (!args.state.empty()) {
    state = store::ParseJobState(args.state);
    if (!state) {
      return Fail(fmt::format("unknown state '{}': pending, processing, completed, failed or "
                              "cancelled",
                              args.state),
                  2);
    }
  }
  auto engine = OpenEngine(global);
  if (!engine.ok()) return FailWith(engine.status());
  auto jobs = service::ListJobs(**engine, state, args.limit);
  if (!jobs.ok()) return FailWith(jobs.status());
  if (args.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& j : *jobs) list.push_back(store::JobJson(j));
    std::printf("%s\n", Dump(list, 2).c_str());
    return 0;
  }
  std::printf("%6s  %-10s  %-10s  %3s  %7s  %5s  %s\n", "id", "kind", "state", "pri", "tries",
              "done", "created");
  for (const auto& j : *jobs) {
    std::printf("%6lld  %-10s  %-10s  %3d  %3d/%-3d  %5s  %s\n", static_cast<long long>(j.id),
                j.kind.c_str(), std::string(store::JobStateName(j.state)).c_str(), j.priority,
                j.attempts, j.max_attempts, Progress(j).c_str(), j.created_at.c_str());
  }
  if (jobs->empty()) std::printf("(no jobs)\n");
  return 0;
}

int RunShow(const JobsArgs& args, const GlobalOptions& global) {
  auto engine = OpenEngine(global);
  if (!engine.ok()) return FailWith(engine.status());
  auto job = service::GetJob(**engine, args.id);
  if (!job.ok()) return FailWith(job.status());
  const auto j = store::JobJson(*job);
  if (args.json) {
    std::printf("%s\n", Dump(j, 2).c_str());
    return 0;
  }
  const auto& r = *job;
  std::printf("job %lld  %s  %s (priority %d, attempt %d of %d)\n", static_cast<long long>(r.id),
              r.kind.c_str(), std::string(store::JobStateName(r.state)).c_str(), r.priority,
              r.attempts, r.max_attempts);
  std::printf("  payload   %s\n", Dump(j["payload"]).c_str());
  if (!r.progress.empty()) std::printf("  progress  %s\n", Dump(j["progress"]).c_str());
  if (!r.result.empty()) std::printf("  result    %s\n", Dump(j["result"]).c_str());
  if (!r.error.empty()) std::printf("  error     %s\n", r.error.c_str());
  std::printf("  created   %s\n", r.created_at.c_str());
  for (const auto& a : r.attempt_log) {
    std::printf("  attempt %d  %s .. %s  %s\n", a.number, a.started_at.c_str(),
                a.finished_at.empty() ? "(running)" : a.finished_at.c_str(),
                a.error.empty() ? "" : a.error.c_str());
  }
  return 0;
}

int RunCancel(const JobsArgs& args, const GlobalOptions& global) {
  auto engine = OpenEngine(global);
  if (!engine.ok()) return FailWith(engine.status());
  auto job = service::CancelJob(**engine, args.id);
  if (!job.ok()) return FailWith(job.status());
  const auto state = job->state;
  std::printf(
      "job %lld %s\n", static_cast<long long>(args.id),
      state == store::JobState::kCancelled ? "cancelled" : "asked to stop (its worker cancels it)");
  return 0;
}

}  // namespace

void AddJobsCommands(CLI::App& app, GlobalOptions& global) {
  CLI::App* jobs = app.add_subcommand("jobs", "The job queue that `timbre serve` runs.");
  jobs->require_subcommand(1);

  auto list = std::make_shared<JobsArgs>();
  CLI::App* l = jobs->add_subcommand("list", "Jobs, newest first.");
  l->add_option("--state", list->state, "only pending, processing, completed, failed or cancelled");
  l->add_option("--limit,-n", list->limit, "at most this many")->capture_default_str();
  l->add_flag("--json", list->json, "print JSON");
  l->callback([list, &global] { global.exit_code = RunList(*list, global); });

  auto show = std::make_shared<JobsArgs>();
  CLI::App* s = jobs->add_subcommand("show", "One job: payload, progress, result and attempts.");
  s->add_option("id", show->id, "job id")->required();
  s->add_flag("--json", show->json, "print JSON");
  s->callback([show, &global] { global.exit_code = RunShow(*show, global); });

  auto cancel = std::make_shared<JobsArgs>();
  CLI::App* c = jobs->add_subcommand(
      "cancel", "Cancel a job: a pending one at once, a running one through its worker.");
  c->add_option("id", cancel->id, "job id")->required();
  c->callback([cancel, &global] { global.exit_code = RunCancel(*cancel, global); });
}

}  // namespace timbre::cli
