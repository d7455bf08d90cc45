// The library scan: walks folders, decides per file whether anything needs doing (new,
// changed, moved, unchanged, gone), analyses what does on N threads through the pipeline,
// commits each track atomically, then brings album gains up to date.
//
// Restartable by construction: every track is one transaction and every decision is made
// from what the store holds, so a killed scan run again finishes the library with nothing
// lost or duplicated.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "timbre/analysis/pipeline.h"
#include "timbre/core/thread_pool.h"
#include "timbre/index/space_index.h"
#include "timbre/store/store.h"

struct stat;

namespace timbre::service {

class Engine;

struct ScanOptions {
  std::vector<std::filesystem::path> roots;  // folders or single files
  int threads = 1;  // files analysed at once, on the pool given to ScanLibrary
  // Asked before each file: true stops the scan early (a cancelled or timed-out job).
  // Finished tracks stay committed; nothing is marked gone.
  std::function<bool()> should_stop;
};

enum class FileOutcome { kAdded, kUpdated, kUnchanged, kMoved, kFailed };
std::string_view FileOutcomeName(FileOutcome o);

struct FileEvent {
  std::string path;
  FileOutcome outcome = FileOutcome::kUnchanged;
  int64_t track_id = 0;
  std::string moved_from;    // for kMoved
  std::string error_reason;  // for kFailed
  std::string error_message;
  double seconds = 0.0;        // time spent on this file
  double audio_seconds = 0.0;  // decoded audio
};

struct ScanProgress {
  size_t done = 0;
  size_t total = 0;
  double audio_seconds = 0.0;
};

struct ScanSummary {
  size_t files = 0;
  size_t added = 0;
  size_t updated = 0;
  size_t unchanged = 0;
  size_t moved = 0;
  size_t gone = 0;
  size_t failed = 0;
  size_t albums_updated = 0;
  size_t walk_errors = 0;
  double seconds = 0.0;
  double audio_seconds = 0.0;  // decoded in this scan
  bool stopped = false;        // should_stop ended it early
};

// Receives events from the scan. Calls are serialised (never concurrent) but may come from
// any scan thread.
class ScanObserver {
 public:
  virtual ~ScanObserver() = default;
  virtual void OnWalked(size_t files) { (void)files; }
  virtual void OnFile(const FileEvent& event, const ScanProgress& progress) = 0;
  virtual void OnWalkError(const std::string& path, const Status& error) {
    (void)path;
    (void)error;
  }
};

struct FoundFile {
  std::string path;  // absolute
  int64_t size = 0;
  int64_t mtime_ns = 0;
};

// Audio files under the roots (by extension), sorted by path. Follows symbolic links to
// folders without looping; each file appears once even when reachable by several paths.
// Hidden entries (names starting with '.') are skipped. Unreadable folders are reported
// through `on_error` and skipped.
std::vector<FoundFile> WalkLibrary(
    const std::vector<std::filesystem::path>& roots,
    const std::function<void(const std::string&, const Status&)>& on_error);

bool HasAudioExtension(const std::filesystem::path& path);

// A file's modification time as scans record it (ns since the epoch), from stat(2).
int64_t MtimeNs(const struct stat& st);

// Grouping key for album gain: the album tag plus the folder; empty without an album tag.
std::string AlbumKey(const audio::FileTags& tags, const std::filesystem::path& path);

Result<ScanSummary> ScanLibrary(store::Store& store, const analysis::Pipeline& pipeline,
                                ThreadPool& pool, const ScanOptions& options,
                                ScanObserver* observer);

// The scan use case: scans with the engine's pipeline and analysis pool, then brings the
// timbre-v1 similarity index up to date so that the first `similar` needs no build step, and
// removes artifact files no analysis names any more.
struct LibraryScanReport {
  ScanSummary summary;
  index::SyncReport index;
  Status index_status;  // the scan's results stand even when the index could not be updated
  size_t artifacts_removed = 0;  // files of gone or re-analysed tracks, over an hour old
};
Result<LibraryScanReport> ScanAndIndex(Engine& engine, const ScanOptions& options,
                                       ScanObserver* observer);

// Recomputes album loudness and ReplayGain album gain/peak where the store says it is
// missing or stale; returns the number of albums updated.
Result<size_t> UpdateAlbumGains(store::Store& store);

}  // namespace timbre::service
