// The built-in job kinds. Each checks its payload in one place, Validate(), used before a job
// is queued (by any front door) and again by Run() on the worker, since a job row may have
// been written by an older timbre or by hand.
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "timbre/index/space_index.h"
#include "timbre/index/timbre_v1.h"
#include "timbre/service/engine.h"
#include "timbre/service/jobs.h"
#include "timbre/service/library_scan.h"
#include "timbre/service/tag_writing.h"

namespace timbre::service {
namespace {

using Json = nlohmann::json;

std::string Dump(const Json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<Json> ParsePayload(std::string_view payload) {
  Json j = Json::parse(payload, nullptr, false);
  if (!j.is_object()) return InvalidArgument("the job's payload is not a JSON object");
  return j;
}

// A non-empty list of paths, each resolved by the policy.
Status ResolvePaths(Json& payload, const char* field, const PathPolicy& paths) {
  Json& list = payload[field];
  if (!list.is_array() || list.empty()) {
    return InvalidArgument(
        fmt::format("\"{}\" must be a non-empty list of folders or files", field));
  }
  for (auto& p : list) {
    if (!p.is_string()) return InvalidArgument(fmt::format("\"{}\" must hold strings", field));
    auto resolved = paths.Resolve(p.get<std::string>());
    if (!resolved.ok()) return resolved.status();
    p = *resolved;
  }
  return Status::Ok();
}

// Reports scan progress to the job a few times a second (every file would write the job row
// thousands of times a minute) and stops the scan when the job should stop.
class JobScanObserver : public ScanObserver {
 public:
  JobScanObserver(jobs::JobContext& context, const Clock& clock)
      : context_(context), clock_(clock) {}
  void OnFile(const FileEvent& event, const ScanProgress& progress) override {
    const auto now = clock_.Now();
    if (reported_ && progress.done != progress.total &&
        now - last_ < std::chrono::milliseconds(250)) {
      return;
    }
    reported_ = true;
    last_ = now;
    context_.Progress(static_cast<int64_t>(progress.done), static_cast<int64_t>(progress.total),
                      event.path);
  }

 private:
  jobs::JobContext& context_;
  const Clock& clock_;
  bool reported_ = false;
  Clock::TimePoint last_{};
};

Json SummaryJson(const ScanSummary& s) {
  return {{"files", s.files},     {"added", s.added},
          {"updated", s.updated}, {"unchanged", s.unchanged},
          {"moved", s.moved},     {"gone", s.gone},
          {"failed", s.failed},   {"albums_updated", s.albums_updated},
          {"seconds", s.seconds}, {"audio_seconds", s.audio_seconds}};
}

// Scans `roots` for a job and returns the summary with the index's state.
Result<Json> RunScan(Engine& engine, std::vector<std::filesystem::path> roots, int threads,
                     jobs::JobContext& context) {
  ScanOptions options;
  options.roots = std::move(roots);
  options.threads = threads;
  options.should_stop = [&context] { return context.ShouldStop(); };
  JobScanObserver observer(context, engine.clock());
  auto report = ScanAndIndex(engine, options, &observer);
  if (!report.ok()) return report.status();
  if (report->summary.stopped) {
    return Cancelled("stopped before the scan finished").WithReason("stopped");
  }
  Json result = SummaryJson(report->summary);
  result["index"] = {{"ok", report->index_status.ok()},
                     {"vectors", report->index.vectors},
                     {"rebuilt", report->index.rebuilt}};
  return result;
}

class KindBase : public jobs::JobKind {
 public:
  KindBase(Engine& engine, std::string name) : engine_(engine), name_(std::move(name)) {}
  const std::string& name() const override { return name_; }

  Result<std::string> Validate(std::string_view payload, const PathPolicy& paths) const override {
    auto j = ParsePayload(payload);
    if (!j.ok()) return j.status();
    TIMBRE_RETURN_IF_ERROR(Check(*j, paths));
    return Dump(*j);
  }

  Result<std::string> Run(const store::JobRecord& job, jobs::JobContext& context) const override {
    auto j = ParsePayload(job.payload);
    if (!j.ok()) return j.status();
    // Paths were resolved when the job was queued; a row written another way is checked as
    // the user's own (the worker runs with the user's rights).
    TIMBRE_RETURN_IF_ERROR(Check(*j, PathPolicy::Unconfined()));
    auto result = Execute(*j, context);
    if (!result.ok()) return result.status();
    return Dump(*result);
  }

 protected:
  // Checks and normalises the payload in place.
  virtual Status Check(Json& payload, const PathPolicy& paths) const = 0;
  virtual Result<Json> Execute(const Json& payload, jobs::JobContext& context) const = 0;

  Engine& engine_;

 private:
  std::string name_;
};

class ScanKind final : public KindBase {
 public:
  explicit ScanKind(Engine& engine) : KindBase(engine, "scan") {}

 protected:
  Status Check(Json& payload, const PathPolicy& paths) const override {
    return ResolvePaths(payload, "paths", paths);
  }
  Result<Json> Execute(const Json& payload, jobs::JobContext& context) const override {
    std::vector<std::filesystem::path> roots;
    for (const auto& p : payload["paths"]) roots.emplace_back(p.get<std::string>());
    return RunScan(engine_, std::move(roots), engine_.budget().analysis_threads, context);
  }
};

class AnalyzeKind final : public KindBase {
 public:
  explicit AnalyzeKind(Engine& engine) : KindBase(engine, "analyze") {}

 protected:
  Status Check(Json& payload, const PathPolicy& paths) const override {
    if (payload.contains("track_id")) {
      if (!payload["track_id"].is_number_integer()) {
        return InvalidArgument("\"track_id\" must be an integer");
      }
      return Status::Ok();
    }
    if (payload.contains("file_path")) {
      if (!payload["file_path"].is_string()) {
        return InvalidArgument("\"file_path\" must be a string");
      }
      auto resolved = paths.Resolve(payload["file_path"].get<std::string>());
      if (!resolved.ok()) return resolved.status();
      payload["file_path"] = *resolved;
      return Status::Ok();
    }
    return InvalidArgument("an analyze job needs \"track_id\" or \"file_path\"");
  }

  Result<Json> Execute(const Json& payload, jobs::JobContext& context) const override {
    store::Store& store = engine_.store();
    std::string path;
    if (payload.contains("track_id")) {
      const int64_t id = payload["track_id"].get<int64_t>();
      auto details = store.GetTrack(id);
      if (!details.ok()) return details.status();
      if (!*details) return NotFound(fmt::format("no track with id {}", id));
      path = (*details)->track.key.path;
    } else {
      path = payload["file_path"].get<std::string>();
    }
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      return NotFound(fmt::format("no such file: {}", path));
    }
    auto result = RunScan(engine_, {path}, 1, context);
    if (!result.ok()) return result.status();
    result->erase("index");
    auto id = store.FindTrackId(std::filesystem::absolute(path).lexically_normal().string());
    if (id.ok() && *id) (*result)["track_id"] = **id;
    (*result)["path"] = path;
    return result;
  }
};

class WriteTagsKind final : public KindBase {
 public:
  explicit WriteTagsKind(Engine& engine) : KindBase(engine, "write-tags") {}

 protected:
  Status Check(Json& payload, const PathPolicy& paths) const override {
    if (payload.contains("only")) {
      if (!payload["only"].is_string()) return InvalidArgument("\"only\" must be a string");
      auto groups = ParseTagGroups(payload["only"].get<std::string>());
      if (!groups.ok()) return groups.status();
    }
    if (payload.contains("key_notation")) {
      if (!payload["key_notation"].is_string()) {
        return InvalidArgument("\"key_notation\" must be a string");
      }
      auto notation = ParseKeyNotation(payload["key_notation"].get<std::string>());
      if (!notation.ok()) return notation.status();
    }
    if (payload.contains("dry_run") && !payload["dry_run"].is_boolean()) {
      return InvalidArgument("\"dry_run\" must be true or false");
    }
    if (payload.contains("paths")) return ResolvePaths(payload, "paths", paths);
    if (!payload.contains("track_ids") || !payload["track_ids"].is_array() ||
        payload["track_ids"].empty()) {
      return InvalidArgument("a write-tags job needs \"track_ids\" or \"paths\"");
    }
    for (const auto& id : payload["track_ids"]) {
      if (!id.is_number_integer()) return InvalidArgument("\"track_ids\" must hold integers");
    }
    return Status::Ok();
  }

  Result<Json> Execute(const Json& payload, jobs::JobContext& context) const override {
    store::Store& store = engine_.store();
    TagPlanOptions options;
    if (payload.contains("only")) {
      options.groups = *ParseTagGroups(payload["only"].get<std::string>());
    }
    if (payload.contains("key_notation")) {
      options.key_notation = *ParseKeyNotation(payload["key_notation"].get<std::string>());
    }
    const bool dry_run = payload.value("dry_run", false);
    std::vector<int64_t> ids;
    if (payload.contains("paths")) {
      for (const auto& p : payload["paths"]) {
        auto id = store.FindTrackId(p.get<std::string>());
        if (!id.ok()) return id.status();
        if (!*id) return NotFound(fmt::format("no track at {}", p.get<std::string>()));
        ids.push_back(**id);
      }
    } else {
      for (const auto& id : payload["track_ids"]) ids.push_back(id.get<int64_t>());
    }
    Json results = Json::array();
    size_t changed = 0, failed = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (context.ShouldStop()) return Cancelled("stopped before every file was written");
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
      context.Progress(static_cast<int64_t>(i + 1), static_cast<int64_t>(ids.size()),
                       outcome->path);
    }
    return Json{
        {"dry_run", dry_run}, {"changed", changed}, {"failed", failed}, {"results", results}};
  }
};

}  // namespace

std::vector<std::shared_ptr<const jobs::JobKind>> BuiltinJobKinds(Engine& engine) {
  return {std::make_shared<ScanKind>(engine), std::make_shared<AnalyzeKind>(engine),
          std::make_shared<WriteTagsKind>(engine)};
}

}  // namespace timbre::service
