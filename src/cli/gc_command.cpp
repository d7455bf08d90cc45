// timbre gc: removes artifact files that no track's analysis names any more.
#include <cstdio>
#include <memory>

#include "commands.h"
#include "timbre/service/maintenance.h"

namespace timbre::cli {

void AddGcCommand(CLI::App& app, GlobalOptions& global) {
  struct Args {
    double min_age_s = 3600;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "gc",
      "Remove artifact files (waveforms, stems, renderings) that no analysis names any more: "
      "those of tracks that are gone or were analysed again, and leftovers of a crash.");
  cmd->add_option("--min-age", args->min_age_s,
                  "only files older than this many seconds, so that writes in progress by "
                  "another process are left alone")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--json", args->json, "print JSON");
  cmd->callback([args, &global] {
    auto engine = OpenEngine(global);
    if (!engine.ok()) {
      global.exit_code = FailWith(engine.status());
      return;
    }
    auto report = service::CollectGarbage(
        **engine, std::chrono::milliseconds(static_cast<int64_t>(args->min_age_s * 1000)));
    if (!report.ok()) {
      global.exit_code = FailWith(report.status());
      return;
    }
    if (args->json) {
      std::printf("%s\n", Dump({{"files_removed", report->files_removed},
                                {"bytes_removed", report->bytes_removed},
                                {"files_kept", report->files_kept}})
                              .c_str());
    } else {
      std::printf("%zu artifact files removed (%lld bytes), %zu kept\n", report->files_removed,
                  static_cast<long long>(report->bytes_removed), report->files_kept);
    }
  });
}

}  // namespace timbre::cli
