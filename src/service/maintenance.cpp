#include "timbre/service/maintenance.h"

#include <set>

#include "timbre/service/engine.h"
#include "timbre/store/artifacts.h"

namespace timbre::service {

Result<GarbageReport> CollectGarbage(Engine& engine, Clock::Duration min_age) {
  store::ArtifactFiles files(engine.store().artifact_dir());
  // Listed before the rows are read: a file written after this listing is not looked at, and
  // one listed here that a commit names meanwhile is in the rows read next.
  auto found = files.List();
  if (!found.ok()) return found.status();
  auto named = engine.store().ArtifactHashes();
  if (!named.ok()) return named.status();
  const std::set<std::string> keep(named->begin(), named->end());
  const int64_t cutoff = engine.clock().UnixMs() -
                         std::chrono::duration_cast<std::chrono::milliseconds>(min_age).count();
  GarbageReport report;
  for (const auto& f : *found) {
    if (keep.count(f.sha256) != 0 || f.modified_unix_ms > cutoff) {
      ++report.files_kept;
      continue;
    }
    std::error_code ec;
    if (std::filesystem::remove(f.path, ec)) {
      ++report.files_removed;
      report.bytes_removed += f.size;
    }
  }
  return report;
}

}  // namespace timbre::service
