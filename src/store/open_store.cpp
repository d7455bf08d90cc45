#include <cstdlib>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "sqlite/sqlite_store.h"
#include "timbre/core/paths.h"
#include "timbre/store/store.h"

namespace timbre::store {

std::string_view TrackStatusName(TrackStatus s) {
  switch (s) {
    case TrackStatus::kOk:
      return "ok";
    case TrackStatus::kFailed:
      return "failed";
    case TrackStatus::kGone:
      return "gone";
  }
  return "failed";
}

std::optional<TrackStatus> ParseTrackStatus(std::string_view s) {
  if (s == "ok") return TrackStatus::kOk;
  if (s == "failed") return TrackStatus::kFailed;
  if (s == "gone") return TrackStatus::kGone;
  return std::nullopt;
}

std::string_view JobStateName(JobState s) {
  switch (s) {
    case JobState::kPending:
      return "pending";
    case JobState::kProcessing:
      return "processing";
    case JobState::kCompleted:
      return "completed";
    case JobState::kFailed:
      return "failed";
    case JobState::kCancelled:
      return "cancelled";
  }
  return "failed";
}

std::optional<JobState> ParseJobState(std::string_view s) {
  for (JobState state : {JobState::kPending, JobState::kProcessing, JobState::kCompleted,
                         JobState::kFailed, JobState::kCancelled}) {
    if (JobStateName(state) == s) return state;
  }
  return std::nullopt;
}

Result<std::unique_ptr<Store>> OpenStore(const std::string& url) {
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    return Unsupported("the PostgreSQL backend is not part of this build yet; use a SQLite path");
  }
  std::filesystem::path path;
  if (url.empty()) {
    path = DefaultDataDir() / "timbre.db";
  } else {
    path = url.starts_with("sqlite:") ? url.substr(7) : url;
  }
  if (path.empty()) return InvalidArgument("empty database path");
  std::error_code ec;
  if (path.has_parent_path()) {
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
      return IoError(
          fmt::format("cannot create {}: {}", path.parent_path().string(), ec.message()));
    }
  }
  if (std::filesystem::is_directory(path, ec)) {
    return InvalidArgument(fmt::format("{} is a directory, not a database file", path.string()));
  }
  return sqlite::OpenSqliteStore(path.string());
}

}  // namespace timbre::store
