// timbre stats: a summary of the library in the store.
#include <cstdio>
#include <memory>

#include "commands.h"
#include "timbre/core/paths.h"
#include "timbre/store/store.h"

namespace timbre::cli {
namespace {

int RunStats(bool json, const GlobalOptions& global) {
  auto engine = OpenEngine(global);
  if (!engine.ok()) return FailWith(engine.status());
  auto stats = (*engine)->store().Stats();
  if (!stats.ok()) return Fail(stats.status().message());
  const auto& s = *stats;
  if (json) {
    nlohmann::json containers = nlohmann::json::object();
    for (const auto& c : s.containers) containers[c.name] = c.count;
    nlohmann::json failures = nlohmann::json::object();
    for (const auto& f : s.failures_by_reason) failures[f.name] = f.count;
    nlohmann::json j{{"tracks", s.tracks},
                     {"ok", s.ok},
                     {"failed", s.failed},
                     {"gone", s.gone},
                     {"albums", s.albums},
                     {"total_seconds", s.total_seconds},
                     {"total_bytes", s.total_bytes},
                     {"containers", containers},
                     {"failures_by_reason", failures},
                     {"store", SanitizeUtf8((*engine)->store().description())},
                     {"schema_version", (*engine)->store().schema_version()}};
    std::printf("%s\n", Dump(j, 2).c_str());
    return 0;
  }
  const long total = static_cast<long>(s.total_seconds);
  std::printf("store      %s (schema %d)\n", SanitizeUtf8((*engine)->store().description()).c_str(),
              (*engine)->store().schema_version());
  std::printf("tracks     %lld (%lld ok, %lld failed, %lld gone)\n",
              static_cast<long long>(s.tracks), static_cast<long long>(s.ok),
              static_cast<long long>(s.failed), static_cast<long long>(s.gone));
  std::printf("albums     %lld\n", static_cast<long long>(s.albums));
  std::printf("duration   %ld:%02ld:%02ld\n", total / 3600, (total / 60) % 60, total % 60);
  std::printf("size       %.1f MB\n", static_cast<double>(s.total_bytes) / 1e6);
  if (!s.containers.empty()) {
    std::printf("formats\n");
    for (const auto& c : s.containers) {
      std::printf("  %-28s %lld\n", c.name.c_str(), static_cast<long long>(c.count));
    }
  }
  if (!s.failures_by_reason.empty()) {
    std::printf("failures\n");
    for (const auto& f : s.failures_by_reason) {
      std::printf("  %-28s %lld\n", f.name.c_str(), static_cast<long long>(f.count));
    }
  }
  return 0;
}

}  // namespace

void AddStatsCommand(CLI::App& app, GlobalOptions& global) {
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "stats", "Summarise the library: track counts, formats, total duration, failures by reason.");
  cmd->add_flag("--json", *json, "print JSON");
  cmd->callback([json, &global] { global.exit_code = RunStats(*json, global); });
}

}  // namespace timbre::cli
