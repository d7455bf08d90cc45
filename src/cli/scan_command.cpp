// timbre scan DIR...: analyse a library into the store.
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "commands.h"
#include "progress.h"
#include "timbre/core/paths.h"
#include "timbre/service/library_scan.h"

namespace timbre::cli {
namespace {

struct ScanArgs {
  std::vector<std::string> roots;
  bool json = false;
  bool quiet = false;
};

// Shows the scan as it goes: a progress bar on a terminal, JSON lines when asked, and
// failures as they happen otherwise.
class ScanPrinter : public service::ScanObserver {
 public:
  ScanPrinter(bool json, bool quiet)
      : json_(json), quiet_(quiet), bar_(!quiet && ProgressBar::StderrIsTerminal()) {}

  void OnWalked(size_t files) override { bar_.SetTotal(files); }

  void OnWalkError(const std::string& path, const Status& error) override {
    if (json_) {
      nlohmann::json j{{"event", "error"},
                       {"path", SanitizeUtf8(path)},
                       {"reason", error.reason()},
                       {"message", error.message()}};
      std::printf("%s\n", Dump(j).c_str());
    } else if (!quiet_) {
      bar_.Clear();
      std::fprintf(stderr, "skipped %s: %s\n", SanitizeUtf8(path).c_str(), error.message().c_str());
    }
  }

  void OnFile(const service::FileEvent& e, const service::ScanProgress& p) override {
    if (json_) {
      nlohmann::json j{{"event", "track"},
                       {"path", SanitizeUtf8(e.path)},
                       {"outcome", service::FileOutcomeName(e.outcome)},
                       {"id", e.track_id},
                       {"seconds", e.seconds},
                       {"audio_seconds", e.audio_seconds}};
      if (!e.moved_from.empty()) j["moved_from"] = SanitizeUtf8(e.moved_from);
      if (e.outcome == service::FileOutcome::kFailed) {
        j["reason"] = e.error_reason;
        j["message"] = e.error_message;
      }
      std::printf("%s\n", Dump(j).c_str());
      std::fflush(stdout);
    } else if (e.outcome == service::FileOutcome::kFailed && !quiet_) {
      bar_.Clear();
      std::fprintf(stderr, "failed %s: %s (%s)\n", SanitizeUtf8(e.path).c_str(),
                   e.error_message.c_str(), e.error_reason.c_str());
    }
    bar_.Update(p.done, p.audio_seconds, e.path);
  }

  void Done() { bar_.Clear(); }

 private:
  bool json_;
  bool quiet_;
  ProgressBar bar_;
};

int RunScan(const ScanArgs& args, const GlobalOptions& global) {
  auto engine = OpenEngine(global);
  if (!engine.ok()) return FailWith(engine.status());
  auto analysis = (*engine)->analysis();
  if (!analysis.ok()) return FailWith(analysis.status());
  if (!args.quiet) {
    for (const auto& w : (*analysis)->warnings) {
      std::fprintf(stderr, "timbre: warning: %s\n", w.c_str());
    }
  }
  service::ScanOptions options;
  for (const auto& r : args.roots) options.roots.emplace_back(r);
  options.threads = (*engine)->budget().analysis_threads;
  ScanPrinter printer(args.json, args.quiet);
  auto report = service::ScanAndIndex(**engine, options, &printer);
  printer.Done();
  if (!report.ok()) return FailWith(report.status());
  const service::ScanSummary& s = report->summary;
  const index::SyncReport& index_report = report->index;
  store::Store& store = (*engine)->store();
  if (!report->index_status.ok()) {
    std::fprintf(stderr, "timbre: warning: the similarity index was not updated: %s\n",
                 report->index_status.message().c_str());
  }
  const double rate = s.seconds > 0 ? static_cast<double>(s.files) / s.seconds : 0.0;
  if (args.json) {
    nlohmann::json j{{"event", "summary"},
                     {"files", s.files},
                     {"added", s.added},
                     {"updated", s.updated},
                     {"unchanged", s.unchanged},
                     {"moved", s.moved},
                     {"gone", s.gone},
                     {"failed", s.failed},
                     {"albums_updated", s.albums_updated},
                     {"walk_errors", s.walk_errors},
                     {"seconds", s.seconds},
                     {"tracks_per_second", rate},
                     {"audio_seconds", s.audio_seconds},
                     {"realtime_factor", s.seconds > 0 ? s.audio_seconds / s.seconds : 0.0},
                     {"store", store.description()},
                     {"index",
                      {{"space", index_report.space},
                       {"ok", report->index_status.ok()},
                       {"vectors", index_report.vectors},
                       {"rebuilt", index_report.rebuilt},
                       {"applied", index_report.applied},
                       {"seconds", index_report.seconds}}}};
    std::printf("%s\n", Dump(j).c_str());
  } else if (!args.quiet) {
    std::printf(
        "%zu files: %zu added, %zu updated, %zu unchanged, %zu moved, %zu gone, %zu failed\n"
        "%.1f s, %.1f tracks/s, %.0fx realtime (%.0f s of audio analysed); %zu albums' gain "
        "updated\nstore: %s\n",
        s.files, s.added, s.updated, s.unchanged, s.moved, s.gone, s.failed, s.seconds, rate,
        s.seconds > 0 ? s.audio_seconds / s.seconds : 0.0, s.audio_seconds, s.albums_updated,
        SanitizeUtf8(store.description()).c_str());
    if (report->index_status.ok()) {
      const std::string how = index_report.rebuilt
                                  ? "built: " + index_report.rebuild_reason
                                  : fmt::format("{} changes applied", index_report.applied);
      std::printf("similarity index: %s, %zu tracks (%s, %.2f s)\n", index_report.space.c_str(),
                  index_report.vectors, how.c_str(), index_report.seconds);
    }
    if (s.failed > 0) std::printf("see failures with: timbre stats\n");
  }
  return 0;
}

}  // namespace

void AddScanCommand(CLI::App& app, GlobalOptions& global) {
  auto args = std::make_shared<ScanArgs>();
  CLI::App* cmd = app.add_subcommand(
      "scan",
      "Scan folders (or files) of music: decode each audio file once, measure loudness "
      "(EBU R128, ReplayGain 2.0 track and album gain), fingerprint it, read its tags, and "
      "store everything. Unchanged files are skipped, moved files keep their results, "
      "deleted files are marked gone; an interrupted scan resumes where it stopped.");
  cmd->add_option("folders", args->roots, "folders or files to scan")->required();
  AddSettingOption(cmd, global, "-j,--jobs", "budget.analysis_threads",
                   "files analysed in parallel (default: number of cores)")
      ->check(CLI::Range(1, 1024));
  cmd->add_flag("--json", args->json, "print one JSON line per file and a JSON summary");
  cmd->add_flag("-q,--quiet", args->quiet, "no progress bar or summary");
  AddModelOptions(cmd, global);
  cmd->callback([args, &global] { global.exit_code = RunScan(*args, global); });
}

}  // namespace timbre::cli
