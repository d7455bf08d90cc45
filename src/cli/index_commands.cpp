// timbre index: bring a space's vector index up to date (or rebuild it) and describe it.
// timbre duplicates: the same recording stored more than once, found by fingerprint.
#include <cstdio>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "commands.h"
#include "timbre/core/paths.h"
#include "timbre/index/timbre_v1.h"
#include "timbre/service/similarity.h"

namespace timbre::cli {
namespace {

struct IndexArgs {
  std::string space = index::kTimbreV1Space;
  bool rebuild = false;
  bool json = false;
};

int RunIndex(const IndexArgs& args, const GlobalOptions& global) {
  auto engine = OpenEngine(global);
  if (!engine.ok()) return FailWith(engine.status());
  auto sync = service::SyncIndex(**engine, args.space, args.rebuild);
  if (!sync.ok()) return FailWith(sync.status());
  const index::SyncReport& report = sync->report;
  const index::SpaceSpec& spec = sync->spec;
  const std::string& path = sync->file;
  if (args.json) {
    nlohmann::json j{{"space", report.space},
                     {"vectors", report.vectors},
                     {"dim", sync->dim},
                     {"metric", index::MetricName(spec.metric)},
                     {"kind", index::IndexKindName(report.kind)},
                     {"library_normalised", spec.library_normalised},
                     {"derived", report.derived},
                     {"applied", report.applied},
                     {"rebuilt", report.rebuilt},
                     {"rebuild_reason", report.rebuild_reason},
                     {"saved", report.saved},
                     {"save_error", report.save_error},
                     {"seconds", report.seconds},
                     {"file", SanitizeUtf8(path)}};
    std::printf("%s\n", Dump(j, 2).c_str());
  } else {
    std::printf("%s: %zu vectors, %zu dimensions, %s, %s search\n", report.space.c_str(),
                report.vectors, sync->dim, std::string(index::MetricName(spec.metric)).c_str(),
                report.kind == index::IndexKind::kFlat ? "exact" : "HNSW");
    if (report.rebuilt) std::printf("rebuilt: %s\n", report.rebuild_reason.c_str());
    if (report.applied > 0) std::printf("updated: %zu changed tracks applied\n", report.applied);
    std::printf("file: %s\n", SanitizeUtf8(path).c_str());
  }
  if (!report.save_error.empty()) {
    return Fail("the index works but could not be saved: " + report.save_error);
  }
  return 0;
}

struct DuplicatesArgs {
  double max_bit_error = index::DuplicateOptions{}.max_bit_error;
  bool json = false;
};

int RunDuplicates(const DuplicatesArgs& args, const GlobalOptions& global) {
  auto engine = OpenEngine(global);
  if (!engine.ok()) return FailWith(engine.status());
  index::DuplicateOptions options;
  options.max_bit_error = args.max_bit_error;
  auto found = service::FindDuplicates(**engine, options);
  if (!found.ok()) return FailWith(found.status());
  const index::DuplicateReport* report = &found->report;
  std::map<int64_t, std::string> path_of;
  for (const auto& s : found->tracks) path_of[s.id] = SanitizeUtf8(s.path);

  if (args.json) {
    nlohmann::json groups = nlohmann::json::array();
    for (const auto& g : report->groups) {
      nlohmann::json tracks = nlohmann::json::array();
      for (int64_t id : g.tracks) tracks.push_back({{"id", id}, {"path", path_of[id]}});
      nlohmann::json pairs = nlohmann::json::array();
      for (const auto& p : g.pairs) {
        pairs.push_back({{"a", p.a},
                         {"b", p.b},
                         {"score", p.score},
                         {"offset_seconds", p.offset_seconds},
                         {"overlap_seconds", p.overlap_seconds}});
      }
      groups.push_back({{"tracks", tracks}, {"pairs", pairs}});
    }
    nlohmann::json j{{"groups", groups},
                     {"fingerprints", report->fingerprints},
                     {"candidates", report->candidates},
                     {"unreadable", report->unreadable}};
    std::printf("%s\n", Dump(j, 2).c_str());
    return 0;
  }
  for (size_t i = 0; i < report->groups.size(); ++i) {
    const auto& g = report->groups[i];
    std::printf("group %zu: %zu copies\n", i + 1, g.tracks.size());
    for (int64_t id : g.tracks) {
      std::printf("  %6lld  %s\n", static_cast<long long>(id), path_of[id].c_str());
    }
    for (const auto& p : g.pairs) {
      std::printf("    %lld ~ %lld  score %.2f  offset %+.1f s  overlap %.0f s\n",
                  static_cast<long long>(p.a), static_cast<long long>(p.b), p.score,
                  p.offset_seconds, p.overlap_seconds);
    }
  }
  std::printf("%zu duplicate groups among %zu fingerprinted tracks\n", report->groups.size(),
              report->fingerprints);
  return 0;
}

}  // namespace

void AddIndexCommand(CLI::App& app, GlobalOptions& global) {
  auto args = std::make_shared<IndexArgs>();
  CLI::App* cmd = app.add_subcommand(
      "index",
      "Bring an embedding space's vector index up to date with the store and describe it. "
      "Scans and queries do this by themselves; --rebuild starts it afresh.");
  cmd->add_option("--space", args->space, "embedding space (default: timbre-v1)");
  cmd->add_flag("--rebuild", args->rebuild, "discard the saved index and build it again");
  cmd->add_flag("--json", args->json, "print the result as JSON");
  cmd->callback([args, &global] { global.exit_code = RunIndex(*args, global); });
}

void AddDuplicatesCommand(CLI::App& app, GlobalOptions& global) {
  auto args = std::make_shared<DuplicatesArgs>();
  CLI::App* cmd = app.add_subcommand(
      "duplicates",
      "Find the same recording stored more than once (other formats, bitrates, trims) by "
      "aligning Chromaprint fingerprints. Other performances of a piece are not duplicates.");
  cmd->add_option("--max-bit-error", args->max_bit_error,
                  "largest share of differing fingerprint bits for a duplicate (default 0.15; "
                  "unrelated audio is near 0.5)")
      ->check(CLI::Range(0.0, 0.5));
  cmd->add_flag("--json", args->json, "print the groups as JSON");
  cmd->callback([args, &global] { global.exit_code = RunDuplicates(*args, global); });
}

}  // namespace timbre::cli
