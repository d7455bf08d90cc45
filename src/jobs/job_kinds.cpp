#include "timbre/jobs/job_kinds.h"

#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "timbre/index/space_index.h"
#include "timbre/index/timbre_v1.h"
#include "timbre/jobs/scan.h"
#include "timbre/jobs/tag_writing.h"

namespace timbre::jobs {
namespace {

using Json = nlohmann::json;

std::string Dump(const Json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<Json> Payload(const store::JobRecord& job) {
  Json j = Json::parse(job.payload, nullptr, false);
  if (!j.is_object()) return InvalidArgument("the job's payload is not a JSON object");
  return j;
}

// Reports scan progress to the job and stops the scan when the job should stop.
class JobScanObserver : public ScanObserver {
 public:
  explicit JobScanObserver(JobContext& context) : context_(context) {}
  void OnFile(const FileEvent& event, const ScanProgress& progress) override {
    // Every file would write the job row thousands of times a minute; a few a second do.
    const auto now = std::chrono::steady_clock::now();
    if (progress.done != progress.total && now - last_ < std::chrono::milliseconds(250)) return;
    last_ = now;
    context_.Progress(static_cast<int64_t>(progress.done), static_cast<int64_t>(progress.total),
                      event.path);
  }

 private:
  JobContext& context_;
  std::chrono::steady_clock::time_point last_{};
};

Json SummaryJson(const ScanSummary& s) {
  return {{"files", s.files},     {"added", s.added},
          {"updated", s.updated}, {"unchanged", s.unchanged},
          {"moved", s.moved},     {"gone", s.gone},
          {"failed", s.failed},   {"albums_updated", s.albums_updated},
          {"seconds", s.seconds}, {"audio_seconds", s.audio_seconds}};
}

Result<ScanSummary> RunScan(store::Store& store, const analysis::Pipeline& pipeline,
                            std::vector<std::filesystem::path> roots, int threads,
                            JobContext& context, Json& extra) {
  ScanOptions options;
  options.roots = std::move(roots);
  options.threads = threads;
  options.should_stop = [&context] { return context.ShouldStop(); };
  JobScanObserver observer(context);
  auto summary = ScanLibrary(store, pipeline, options, &observer);
  if (!summary.ok()) return summary.status();
  if (summary->stopped) return IoError("stopped before the scan finished").WithReason("stopped");
  index::SyncReport report;
  auto space = index::SpaceIndex::Open(store, index::kTimbreV1Space,
                                       index::SyncMode::kDeriveMissing, {}, &report);
  extra["index"] = {{"ok", space.ok()}, {"vectors", report.vectors}, {"rebuilt", report.rebuilt}};
  return summary;
}

Result<std::string> ScanJob(store::Store& store, const analysis::Pipeline& pipeline, int threads,
                            const store::JobRecord& job, JobContext& context) {
  auto payload = Payload(job);
  if (!payload.ok()) return payload.status();
  const Json& paths = (*payload)["paths"];
  if (!paths.is_array() || paths.empty()) {
    return InvalidArgument("a scan job needs \"paths\": a non-empty list of folders or files");
  }
  std::vector<std::filesystem::path> roots;
  for (const auto& p : paths) {
    if (!p.is_string()) return InvalidArgument("\"paths\" must hold strings");
    roots.emplace_back(p.get<std::string>());
  }
  Json extra;
  auto summary = RunScan(store, pipeline, roots, threads, context, extra);
  if (!summary.ok()) return summary.status();
  Json result = SummaryJson(*summary);
  result.update(extra);
  return Dump(result);
}

Result<std::string> AnalyzeJob(store::Store& store, const analysis::Pipeline& pipeline,
                               const store::JobRecord& job, JobContext& context) {
  auto payload = Payload(job);
  if (!payload.ok()) return payload.status();
  std::string path;
  if (payload->contains("track_id")) {
    const Json& id = (*payload)["track_id"];
    if (!id.is_number_integer()) return InvalidArgument("\"track_id\" must be an integer");
    auto details = store.GetTrack(id.get<int64_t>());
    if (!details.ok()) return details.status();
    if (!*details) return NotFound(fmt::format("no track with id {}", id.get<int64_t>()));
    path = (*details)->track.key.path;
  } else if (payload->contains("file_path") && (*payload)["file_path"].is_string()) {
    path = (*payload)["file_path"].get<std::string>();
  } else {
    return InvalidArgument("an analyze job needs \"track_id\" or \"file_path\"");
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return NotFound(fmt::format("no such file: {}", path));
  }
  Json extra;
  auto summary = RunScan(store, pipeline, {path}, 1, context, extra);
  if (!summary.ok()) return summary.status();
  Json result = SummaryJson(*summary);
  auto id = store.FindTrackId(std::filesystem::absolute(path).lexically_normal().string());
  if (id.ok() && *id) result["track_id"] = **id;
  result["path"] = path;
  return Dump(result);
}

Result<std::string> WriteTagsJob(store::Store& store, const store::JobRecord& job,
                                 JobContext& context) {
  auto payload = Payload(job);
  if (!payload.ok()) return payload.status();
  TagPlanOptions options;
  if (payload->contains("only")) {
    if (!(*payload)["only"].is_string()) return InvalidArgument("\"only\" must be a string");
    auto groups = ParseTagGroups((*payload)["only"].get<std::string>());
    if (!groups.ok()) return groups.status();
    options.groups = *groups;
  }
  if (payload->contains("key_notation")) {
    if (!(*payload)["key_notation"].is_string()) {
      return InvalidArgument("\"key_notation\" must be a string");
    }
    auto notation = ParseKeyNotation((*payload)["key_notation"].get<std::string>());
    if (!notation.ok()) return notation.status();
    options.key_notation = *notation;
  }
  const bool dry_run = payload->value("dry_run", false);
  std::vector<int64_t> ids;
  if (payload->contains("track_ids") && (*payload)["track_ids"].is_array()) {
    for (const auto& id : (*payload)["track_ids"]) {
      if (!id.is_number_integer()) return InvalidArgument("\"track_ids\" must hold integers");
      ids.push_back(id.get<int64_t>());
    }
  } else if (payload->contains("paths") && (*payload)["paths"].is_array()) {
    for (const auto& p : (*payload)["paths"]) {
      if (!p.is_string()) return InvalidArgument("\"paths\" must hold strings");
      auto id = store.FindTrackId(p.get<std::string>());
      if (!id.ok()) return id.status();
      if (!*id) return NotFound(fmt::format("no track at {}", p.get<std::string>()));
      ids.push_back(**id);
    }
  } else {
    return InvalidArgument("a write-tags job needs \"track_ids\" or \"paths\"");
  }
  Json results = Json::array();
  size_t changed = 0, failed = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (context.ShouldStop()) return IoError("stopped before every file was written");
    auto outcome = WriteTrackTags(store, ids[i], options, dry_run);
    if (!outcome.ok()) return outcome.status();
    Json r{{"id", ids[i]}, {"path", outcome->path}, {"changes", outcome->changes.size()}};
    if (!outcome->status.ok()) {
      ++failed;
      r["error"] = {{"reason", outcome->status.reason()}, {"message", outcome->status.message()}};
    } else if (!outcome->changes.empty()) {
      ++changed;
    }
    results.push_back(std::move(r));
    context.Progress(static_cast<int64_t>(i + 1), static_cast<int64_t>(ids.size()), outcome->path);
  }
  return Dump(
      {{"dry_run", dry_run}, {"changed", changed}, {"failed", failed}, {"results", results}});
}

}  // namespace

void RegisterBuiltinJobs(JobRunner& runner, store::Store& store, const analysis::Pipeline& pipeline,
                         const BuiltinJobOptions& options) {
  const int threads = std::max(1, options.scan_threads);
  runner.Register("scan", [&store, &pipeline, threads](const auto& job, JobContext& context) {
    return ScanJob(store, pipeline, threads, job, context);
  });
  runner.Register("analyze", [&store, &pipeline](const auto& job, JobContext& context) {
    return AnalyzeJob(store, pipeline, job, context);
  });
  runner.Register("write-tags", [&store](const auto& job, JobContext& context) {
    return WriteTagsJob(store, job, context);
  });
}

}  // namespace timbre::jobs
