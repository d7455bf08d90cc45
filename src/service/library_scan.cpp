#include "timbre/service/library_scan.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "timbre/audio/tags.h"
#include "timbre/core/hash.h"
#include "timbre/core/thread_pool.h"
#include "timbre/core/version.h"
#include "timbre/dsp/loudness.h"
#include "timbre/index/timbre_v1.h"
#include "timbre/service/engine.h"
#include "timbre/service/maintenance.h"

namespace timbre::service {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

bool UnderRoot(const std::string& path, const std::vector<std::string>& roots) {
  for (const auto& r : roots) {
    if (path == r) return true;
    if (path.size() > r.size() && path.compare(0, r.size(), r) == 0 &&
        (r.back() == '/' || path[r.size()] == '/')) {
      return true;
    }
  }
  return false;
}

store::TrackRecord BaseRecord(const FoundFile& f, const std::string& hash,
                              const std::string& signature) {
  store::TrackRecord t;
  t.key.path = f.path;
  t.key.size = f.size;
  t.key.mtime_ns = f.mtime_ns;
  t.key.content_hash = hash;
  t.key.signature = signature;
  return t;
}

// Everything the scan shares between its threads.
class Scan {
 public:
  Scan(store::Store& store, const analysis::Pipeline& pipeline, ScanObserver* observer)
      : store_(store), pipeline_(pipeline), observer_(observer) {}

  Result<ScanSummary> Run(ThreadPool& pool, const ScanOptions& options) {
    const auto start = Clock::now();
    std::vector<std::string> roots;
    for (const auto& r : options.roots) {
      std::error_code ec;
      fs::path abs = fs::absolute(r, ec).lexically_normal();
      if (ec || !fs::exists(abs, ec)) {
        return NotFound(fmt::format("{} does not exist", r.string()));
      }
      std::string s = abs.string();
      if (s.size() > 1 && s.back() == '/') s.pop_back();
      roots.push_back(s);
    }
    std::vector<fs::path> root_paths(roots.begin(), roots.end());
    std::vector<FoundFile> files =
        WalkLibrary(root_paths, [&](const std::string& p, const Status& e) {
          ++summary_.walk_errors;
          (void)store_.RecordScanError(p, e.reason(), e.message());
          if (observer_ != nullptr) observer_->OnWalkError(p, e);
        });
    summary_.files = files.size();
    if (observer_ != nullptr) observer_->OnWalked(files.size());

    auto keys = store_.ListTrackKeys();
    if (!keys.ok()) return keys.status();
    for (const auto& k : *keys) by_path_.emplace(k.path, k);
    for (const auto& f : files) found_.insert(f.path);
    progress_.total = files.size();

    // Unchanged files are settled here, cheaply; the rest go to the threads.
    std::vector<const FoundFile*> work;
    for (const auto& f : files) {
      auto it = by_path_.find(f.path);
      if (it != by_path_.end() && it->second.status != store::TrackStatus::kGone &&
          it->second.size == f.size && it->second.mtime_ns == f.mtime_ns &&
          it->second.signature == pipeline_.signature()) {
        FileEvent e;
        e.path = f.path;
        e.track_id = it->second.id;
        e.outcome = FileOutcome::kUnchanged;
        Report(e);
      } else {
        work.push_back(&f);
      }
    }
    std::vector<Status> fatal(work.size());
    std::atomic<bool> stopped{false};
    pool.ParallelFor(work.size(), options.threads, [&](size_t i) {
      if (stopped || (options.should_stop && options.should_stop())) {
        stopped = true;
        return;
      }
      fatal[i] = Process(*work[i]);
    });
    for (const auto& s : fatal) {
      if (!s.ok()) return s;  // the store failed: nothing more can be recorded
    }
    if (stopped) {
      summary_.stopped = true;
      summary_.audio_seconds = progress_.audio_seconds;
      summary_.seconds = SecondsSince(start);
      return summary_;
    }

    // What was under the roots and is no longer there, and did not move, is gone.
    std::vector<int64_t> gone;
    for (const auto& [path, key] : by_path_) {
      if (key.status == store::TrackStatus::kGone || found_.count(path) != 0 ||
          claimed_.count(key.id) != 0 || !UnderRoot(path, roots)) {
        continue;
      }
      gone.push_back(key.id);
    }
    TIMBRE_RETURN_IF_ERROR(store_.MarkGone(gone));
    summary_.gone = gone.size();

    auto albums = UpdateAlbumGains(store_);
    if (!albums.ok()) return albums.status();
    summary_.albums_updated = *albums;
    summary_.audio_seconds = progress_.audio_seconds;
    summary_.seconds = SecondsSince(start);
    return summary_;
  }

 private:
  // Handles one new or changed file. Returns non-ok only when the store fails.
  Status Process(const FoundFile& f) {
    const auto start = Clock::now();
    FileEvent e;
    e.path = f.path;
    const auto existing = Existing(f.path);

    std::string hash;
    Status problem;
    if (f.size == 0) {
      problem = Unsupported("empty file").WithReason("empty_file");
    } else {
      auto h = HashFileContent(f.path);
      if (h.ok()) {
        hash = std::move(h).value();
      } else {
        problem = h.status();
      }
    }

    if (problem.ok()) {
      // Same bytes as stored (a touched file, or one that came back): keep the results.
      if (existing && existing->content_hash == hash &&
          existing->signature == pipeline_.signature()) {
        TIMBRE_RETURN_IF_ERROR(store_.MoveTrack(existing->id, f.path, f.size, f.mtime_ns));
        e.track_id = existing->id;
        e.outcome = FileOutcome::kUnchanged;
        e.seconds = SecondsSince(start);
        Report(e);
        return Status::Ok();
      }
      // Same bytes, analysed under another pipeline: rerun only the analyzers whose stored
      // provenance is out of date (a new or changed model), keep the rest.
      if (existing && existing->content_hash == hash &&
          existing->status == store::TrackStatus::kOk) {
        auto stale = StaleAnalyzers(existing->id);
        if (!stale.ok()) return stale.status();
        if (stale->empty()) {
          TIMBRE_RETURN_IF_ERROR(store_.SetSignature(existing->id, pipeline_.signature()));
          TIMBRE_RETURN_IF_ERROR(store_.MoveTrack(existing->id, f.path, f.size, f.mtime_ns));
          e.track_id = existing->id;
          e.outcome = FileOutcome::kUnchanged;
          e.seconds = SecondsSince(start);
          Report(e);
          return Status::Ok();
        }
        if (stale->size() < pipeline_.analyzers().size()) {
          const analysis::Pipeline stale_part = pipeline_.Subset(*stale);
          return Record(f, hash, existing, Status::Ok(), start, &stale_part, /*partial=*/true);
        }
      }
      // A new path with the bytes of a track whose file is no longer where it was: a move.
      if (!existing) {
        auto moved = ClaimMoved(hash, f.size);
        if (!moved.ok()) return moved.status();
        if (moved->id != 0) {
          TIMBRE_RETURN_IF_ERROR(store_.MoveTrack(moved->id, f.path, f.size, f.mtime_ns));
          if (moved->signature == pipeline_.signature()) {
            e.track_id = moved->id;
            e.outcome = FileOutcome::kMoved;
            e.moved_from = moved->path;
            e.seconds = SecondsSince(start);
            Report(e);
            return Status::Ok();
          }
          // Moved and analysed under older analyzers: falls through to a fresh analysis.
        }
      }
    }

    return Record(f, hash, existing, problem, start, &pipeline_, /*partial=*/false);
  }

  // Commits a file's record: analysed with `pipeline` (the scan's, or the stale part of it)
  // when `problem` is ok, failed with `problem` otherwise. A partial write keeps the track's
  // other analyses.
  Status Record(const FoundFile& f, const std::string& hash,
                const std::optional<store::TrackKey>& existing, Status problem,
                Clock::time_point start, const analysis::Pipeline* pipeline, bool partial) {
    FileEvent e;
    e.path = f.path;
    store::TrackWrite write;
    write.track = BaseRecord(f, hash, pipeline_.signature());
    write.partial = partial;
    if (problem.ok()) {
      write.track.tags = audio::ReadFileTags(f.path);
      write.track.album_key = AlbumKey(write.track.tags, f.path);
      analysis::TrackAnalysis result = pipeline->Run(f.path);
      problem = result.status;
      const auto& info = result.decode.info;
      write.track.container = info.container;
      write.track.codec = info.codec;
      write.track.duration = result.decode.decoded_seconds();
      write.track.sample_rate = info.sample_rate;
      write.track.channels = info.channels;
      write.track.bitrate = info.bitrate;
      e.audio_seconds = write.track.duration;
      if (problem.ok()) write.analyses = std::move(result.analyses);
    }
    if (problem.ok()) {
      write.track.key.status = store::TrackStatus::kOk;
      e.outcome = existing ? FileOutcome::kUpdated : FileOutcome::kAdded;
    } else {
      write.track.key.status = store::TrackStatus::kFailed;
      write.track.error_reason = std::string(problem.reason());
      write.track.error_message = problem.message();
      write.analyses.clear();
      write.partial = false;  // a failed track keeps no results
      e.outcome = FileOutcome::kFailed;
      e.error_reason = write.track.error_reason;
      e.error_message = problem.message();
      TIMBRE_RETURN_IF_ERROR(store_.RecordScanError(f.path, problem.reason(), problem.message()));
    }
    auto id = store_.CommitTrack(write);
    if (!id.ok()) return id.status();
    e.track_id = *id;
    e.seconds = SecondsSince(start);
    Report(e);
    return Status::Ok();
  }

  Result<std::vector<std::string>> StaleAnalyzers(int64_t id) {
    auto details = store_.GetTrack(id);
    if (!details.ok()) return details.status();
    std::vector<analysis::Provenance> stored;
    if (*details) {
      for (const auto& a : (*details)->analyses) stored.push_back(a.provenance);
    }
    return pipeline_.StaleAnalyzers(stored);
  }

  std::optional<store::TrackKey> Existing(const std::string& path) const {
    auto it = by_path_.find(path);  // by_path_ is read-only while threads run
    if (it == by_path_.end()) return std::nullopt;
    return it->second;
  }

  // Finds a track with these bytes whose file is missing, and claims it so that two copies
  // of one file never take over the same track. id 0: none.
  Result<store::TrackKey> ClaimMoved(const std::string& hash, int64_t size) {
    auto candidates = store_.FindByContentHash(hash);
    if (!candidates.ok()) return candidates.status();
    std::lock_guard lock(mu_);
    for (const auto& c : *candidates) {
      if (c.size != size || claimed_.count(c.id) != 0 || found_.count(c.path) != 0) continue;
      std::error_code ec;
      if (c.status != store::TrackStatus::kGone && fs::exists(c.path, ec)) continue;
      claimed_.insert(c.id);
      return c;
    }
    return store::TrackKey{};
  }

  void Report(const FileEvent& e) {
    std::lock_guard lock(mu_);
    switch (e.outcome) {
      case FileOutcome::kAdded:
        ++summary_.added;
        break;
      case FileOutcome::kUpdated:
        ++summary_.updated;
        break;
      case FileOutcome::kUnchanged:
        ++summary_.unchanged;
        break;
      case FileOutcome::kMoved:
        ++summary_.moved;
        break;
      case FileOutcome::kFailed:
        ++summary_.failed;
        break;
    }
    ++progress_.done;
    progress_.audio_seconds += e.audio_seconds;
    if (observer_ != nullptr) observer_->OnFile(e, progress_);
  }

  store::Store& store_;
  const analysis::Pipeline& pipeline_;
  ScanObserver* observer_;
  std::unordered_map<std::string, store::TrackKey> by_path_;
  std::set<std::string> found_;
  std::mutex mu_;  // guards claimed_, summary_, progress_ and observer calls
  std::set<int64_t> claimed_;
  ScanSummary summary_;
  ScanProgress progress_;
};

}  // namespace

std::string_view FileOutcomeName(FileOutcome o) {
  switch (o) {
    case FileOutcome::kAdded:
      return "added";
    case FileOutcome::kUpdated:
      return "updated";
    case FileOutcome::kUnchanged:
      return "unchanged";
    case FileOutcome::kMoved:
      return "moved";
    case FileOutcome::kFailed:
      return "failed";
  }
  return "unknown";
}

std::string AlbumKey(const audio::FileTags& tags, const std::filesystem::path& path) {
  if (tags.album.empty()) return {};
  // Album tag plus folder: robust to formats that cannot carry an album artist (WAV) and to
  // compilations whose track artists differ; discs in separate folders get their own gain.
  return tags.album + '\x1f' + path.parent_path().string();
}

Result<ScanSummary> ScanLibrary(store::Store& store, const analysis::Pipeline& pipeline,
                                ThreadPool& pool, const ScanOptions& options,
                                ScanObserver* observer) {
  if (options.roots.empty()) return InvalidArgument("no folder to scan");
  Scan scan(store, pipeline, observer);
  return scan.Run(pool, options);
}

Result<LibraryScanReport> ScanAndIndex(Engine& engine, const ScanOptions& options,
                                       ScanObserver* observer) {
  auto analysis = engine.analysis();
  if (!analysis.ok()) return analysis.status();
  LibraryScanReport report;
  auto summary = ScanLibrary(engine.store(), *(*analysis)->pipeline, engine.analysis_pool(),
                             options, observer);
  if (!summary.ok()) return summary.status();
  report.summary = *summary;
  if (summary->stopped) return report;
  auto space = index::SpaceIndex::Open(engine.store(), index::kTimbreV1Space,
                                       index::SyncMode::kDeriveMissing, {}, &report.index);
  report.index_status = space.status();
  auto garbage = CollectGarbage(engine);
  if (garbage.ok()) report.artifacts_removed = garbage->files_removed;
  return report;
}

Result<size_t> UpdateAlbumGains(store::Store& store) {
  auto albums = store.AlbumsNeedingGain();
  if (!albums.ok()) return albums.status();
  for (const auto& key : *albums) {
    const auto start = Clock::now();
    auto members = store.AlbumMembers(key);
    if (!members.ok()) return members.status();
    dsp::LoudnessHistogram all;
    double peak = 0.0;
    std::vector<int64_t> ids;
    for (const auto& m : *members) {
      ids.push_back(m.track_id);
      peak = std::max(peak, m.true_peak);
      if (m.histogram.empty()) continue;
      auto h = dsp::LoudnessHistogram::Decode(m.histogram);
      if (!h.ok()) return h.status();
      all.Merge(*h);
    }
    analysis::AnalysisRecord record;
    record.provenance.analyzer = analysis::kAlbumLoudnessAnalyzer;
    record.provenance.analyzer_version = 1;
    record.provenance.params_hash = HashString("");
    record.provenance.engine_version = kEngineVersion;
    record.provenance.window = fmt::format("album of {} tracks", ids.size());
    record.output.numbers["tracks"] = static_cast<double>(ids.size());
    record.output.numbers["replaygain_album_peak"] = peak;
    if (auto lufs = all.IntegratedLufs()) {
      record.output.numbers["integrated"] = *lufs;
      record.output.numbers["replaygain_album_gain"] = dsp::ReplayGainDb(*lufs);
    } else {
      record.output.notes.push_back("no album loudness: the album is silent");
    }
    record.units = {{"tracks", ""},
                    {"integrated", "LUFS"},
                    {"replaygain_album_gain", "dB"},
                    {"replaygain_album_peak", "FS"}};
    record.provenance.seconds = SecondsSince(start);
    TIMBRE_RETURN_IF_ERROR(store.SetAlbumGain(record, ids));
  }
  return albums->size();
}

}  // namespace timbre::service
