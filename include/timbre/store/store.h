// The Store: where tracks, their analyses (with provenance), descriptors, embeddings and
// scan errors live. Backends are chosen by name in OpenStore(); SQLite is the embedded
// default. Nothing outside src/store knows which backend is in use.
//
// Thread safety: every method may be called from any thread; a backend serialises writes
// itself. Each write method is one transaction: it happens entirely or not at all.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "timbre/analysis/pipeline.h"
#include "timbre/audio/tags.h"
#include "timbre/core/status.h"
#include "timbre/store/artifacts.h"
#include "timbre/store/filter.h"
#include "timbre/store/job_records.h"

namespace timbre::store {

enum class TrackStatus { kOk, kFailed, kGone };
std::string_view TrackStatusName(TrackStatus s);
std::optional<TrackStatus> ParseTrackStatus(std::string_view s);

// What a scan needs to decide whether a file changed: one light row per track.
struct TrackKey {
  int64_t id = 0;
  std::string path;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  std::string content_hash;
  TrackStatus status = TrackStatus::kOk;
  std::string signature;  // pipeline signature the stored results were made with
};

struct TrackRecord {
  TrackKey key;
  std::string error_reason;  // snake_case, e.g. "truncated"; empty when ok
  std::string error_message;
  std::string container;
  std::string codec;
  double duration = 0.0;  // s
  int sample_rate = 0;
  int channels = 0;
  int64_t bitrate = 0;
  audio::FileTags tags;
  std::string album_key;   // groups tracks for album gain; empty when there is no album
  std::string first_seen;  // ISO 8601 UTC
  std::string updated_at;
};

struct Descriptor {
  std::string analyzer;
  std::string name;
  double value = 0.0;
  std::string unit;
};

struct TextValue {
  std::string analyzer;
  std::string name;
  std::string value;
};

struct StoredAnalysis {
  analysis::Provenance provenance;
  std::vector<std::string> notes;
  std::string created_at;
};

// A tag a model gave the track: the name, its tier and the score behind it.
struct ModelTag {
  std::string analyzer;
  std::string name;
  std::string value;
  double score = 0.0;
};

struct TrackDetails {
  TrackRecord track;
  std::vector<StoredAnalysis> analyses;
  std::vector<Descriptor> descriptors;
  std::vector<TextValue> texts;
  std::vector<ModelTag> tags;
  std::vector<StoredArtifact> artifacts;  // files of its analyses, in the artifact store
};

// Everything one scanned file produces, written in one transaction. Analyses replace the
// track's previous ones; a failed track keeps none. A partial write replaces only the
// analyses it carries and keeps the others (a rescan that reran only stale analyzers).
struct TrackWrite {
  TrackRecord track;  // key.id is ignored: the path identifies the row
  std::vector<analysis::AnalysisRecord> analyses;
  bool partial = false;
};

struct AlbumMember {
  int64_t track_id = 0;
  std::string histogram;  // loudness.block_histogram
  double true_peak = 0.0;
};

struct CountByName {
  std::string name;
  int64_t count = 0;
};

struct LibraryStats {
  int64_t tracks = 0;
  int64_t ok = 0;
  int64_t failed = 0;
  int64_t gone = 0;
  double total_seconds = 0.0;  // decoded duration of ok tracks
  int64_t total_bytes = 0;
  int64_t albums = 0;
  std::vector<CountByName> containers;
  std::vector<CountByName> failures_by_reason;
};

// A track as lists and playlists show it.
struct TrackSummary {
  int64_t id = 0;
  std::string path;
  std::string title;
  std::string artist;
  std::string album;
  std::string album_artist;
  std::string album_key;
  double duration = 0.0;  // s
  std::optional<double> bpm;
  std::string key;  // "A minor"; empty when unknown
};

// One vector of an embedding space; `source_analyzer` is the analysis it derives from, so
// re-analysing the track drops the vector with it.
struct EmbeddingWrite {
  int64_t track_id = 0;
  std::string space;
  std::string source_analyzer;
  std::vector<float> vector;
};

struct StoredEmbedding {
  int64_t track_id = 0;
  std::vector<float> vector;
};

// Numeric outputs of one track by "analyzer.name".
struct TrackNumbers {
  int64_t track_id = 0;
  std::map<std::string, double> numbers;
};

struct TrackText {
  int64_t track_id = 0;
  std::string value;
};

class Store {
 public:
  virtual ~Store() = default;

  virtual std::string description() const = 0;  // "sqlite:/path/to/timbre.db"
  virtual int schema_version() const = 0;
  // A random id made when the database was created: tells a recreated database from the old.
  virtual const std::string& instance_id() const = 0;

  virtual Result<std::vector<TrackKey>> ListTrackKeys() = 0;
  virtual Result<std::vector<TrackKey>> FindByContentHash(const std::string& hash) = 0;

  // Inserts or replaces the track at write.track.key.path with its analyses; returns its id.
  // The analyses' file outputs go into the artifact store first (files they name are moved).
  virtual Result<int64_t> CommitTrack(const TrackWrite& write) = 0;
  // A file moved: the row keeps its id and results, and takes the new path.
  virtual Status MoveTrack(int64_t id, const std::string& new_path, int64_t size,
                           int64_t mtime_ns) = 0;
  // The files are gone: the tracks are marked so, and the analyses that made files (and the
  // files' rows) are dropped, to be made again if the audio comes back.
  virtual Status MarkGone(const std::vector<int64_t>& ids) = 0;
  // The file was rewritten with the same audio (its tags were written): its new size, time
  // and hash replace the old, so the next scan keeps the track's results.
  virtual Status RecordRewrite(int64_t id, int64_t size, int64_t mtime_ns,
                               const std::string& content_hash) = 0;
  virtual Status RecordScanError(const std::string& path, std::string_view reason,
                                 const std::string& message) = 0;
  // The track's stored results are all current under this pipeline signature (analyzers
  // that left the pipeline keep their results).
  virtual Status SetSignature(int64_t id, const std::string& signature) = 0;

  // Albums whose album gain is missing or out of date (a member was added, changed or
  // went away since it was computed).
  virtual Result<std::vector<std::string>> AlbumsNeedingGain() = 0;
  virtual Result<std::vector<AlbumMember>> AlbumMembers(const std::string& album_key) = 0;
  // Stores the album's result on every member in one transaction.
  virtual Status SetAlbumGain(const analysis::AnalysisRecord& record,
                              const std::vector<int64_t>& members) = 0;

  virtual Result<std::optional<TrackDetails>> GetTrack(int64_t id) = 0;
  virtual Result<std::optional<int64_t>> FindTrackId(const std::string& path) = 0;
  virtual Result<LibraryStats> Stats() = 0;

  // --- Embeddings and queries for similarity (only tracks with status ok take part). ---

  // Where files that live beside the store (vector indexes) are kept.
  virtual std::filesystem::path index_dir() const = 0;
  // The artifact store's folder (store/artifacts.h), and the hashes its rows name.
  virtual std::filesystem::path artifact_dir() const = 0;
  virtual Result<std::vector<std::string>> ArtifactHashes() = 0;
  // Numeric outputs of ok tracks that have no vector in `space` yet.
  virtual Result<std::vector<TrackNumbers>> NumbersOfTracksWithout(const std::string& space) = 0;
  virtual Status PutEmbeddings(const std::vector<EmbeddingWrite>& rows) = 0;
  // Vectors of ok tracks in `space`; only those in `only` when it is given.
  virtual Result<std::vector<StoredEmbedding>> LoadEmbeddings(
      const std::string& space, const std::vector<int64_t>* only = nullptr) = 0;
  // The spaces that hold at least one vector, by name.
  virtual Result<std::vector<std::string>> EmbeddingSpaces() = 0;
  // Every change to a vector or to a track's status gets a number; indexes remember the last
  // one they applied and ask for the tracks changed since.
  virtual Result<int64_t> LastChange() = 0;
  virtual Result<std::vector<int64_t>> TracksChangedSince(int64_t change) = 0;
  // Ids of ok tracks that match, in id order.
  virtual Result<std::vector<int64_t>> SelectTracks(const TrackFilter& filter) = 0;
  // Summaries in the order asked; ids that do not exist are left out.
  virtual Result<std::vector<TrackSummary>> Summaries(const std::vector<int64_t>& ids) = 0;
  // One text output of every ok track that has it.
  virtual Result<std::vector<TrackText>> TextOutputs(const std::string& analyzer,
                                                     const std::string& name) = 0;

  // The job queue (job_records.h).
  // A new pending job. With an idempotency key already used: the same request hash returns
  // the existing job with *replayed set; another hash is an InvalidArgument with reason
  // "idempotency_mismatch".
  virtual Result<JobRecord> SubmitJob(const NewJob& job, bool* replayed) = 0;
  // Takes the next runnable job of one of `kinds` (empty: any; pending, due by `now_ms`;
  // lowest priority number, then oldest), marks it processing, held under `lease`, and opens
  // an attempt. Empty when none is due. Safe with many workers in many processes.
  virtual Result<std::optional<JobRecord>> ClaimJob(int64_t now_ms, const JobLease& lease,
                                                    const std::vector<std::string>& kinds) = 0;
  // The heartbeat: pushes the lease back. False when the job is no longer this worker's
  // (finished, or its lease ended and the job was handed back): the worker must stop it.
  virtual Result<bool> RenewJobLease(int64_t id, const JobLease& lease) = 0;
  // Progress and the outcomes below change a job only while `worker` holds it, so a worker
  // that lost its lease cannot touch the job another worker now runs.
  virtual Status SetJobProgress(int64_t id, const std::string& worker,
                                const std::string& progress_json) = 0;
  // Closes the running attempt. Only a processing job moves, so a job cannot complete twice;
  // returns false when the job was not processing under `worker`.
  virtual Result<bool> CompleteJob(int64_t id, const std::string& worker,
                                   const std::string& result_json) = 0;
  // retry_at_ms >= 0: back to pending until then; otherwise failed for good.
  virtual Result<bool> FailJobAttempt(int64_t id, const std::string& worker,
                                      const std::string& error, int64_t retry_at_ms) = 0;
  // A processing job whose worker saw the cancel request.
  virtual Result<bool> MarkJobCancelled(int64_t id, const std::string& worker) = 0;
  // Pending: cancelled at once. Processing: flagged; the worker stops it. Returns the job
  // as it is now; empty when there is no such job.
  virtual Result<std::optional<JobRecord>> CancelJob(int64_t id) = 0;
  virtual Result<std::optional<JobRecord>> GetJob(int64_t id) = 0;
  // Newest first; `state` empty for all.
  virtual Result<std::vector<JobRecord>> ListJobs(std::optional<JobState> state, size_t limit) = 0;
  // Hands back the processing jobs these workers held (a worker that restarts, or one known
  // to be dead): the attempt is closed with `reason`; a job cancelled meanwhile is cancelled,
  // one with no attempt left fails, the others are pending again. Returns how many.
  virtual Result<size_t> ReleaseJobsOf(const std::vector<std::string>& workers,
                                       const std::string& reason) = 0;
  // The same for every processing job whose lease ended before `now_ms`.
  virtual Result<size_t> ReapExpiredLeases(int64_t now_ms) = 0;
  // The workers that hold processing jobs.
  virtual Result<std::vector<std::string>> JobWorkers() = 0;
  virtual Result<JobCounts> CountJobs() = 0;
};

// Opens a store by URL: "" (the embedded default under DefaultDataDir()), a file path or
// "sqlite:PATH" (SQLite), "postgresql://…" (not built yet: kUnsupported). Creates and
// migrates the schema as needed; refuses a database from a newer timbre.
Result<std::unique_ptr<Store>> OpenStore(const std::string& url);

}  // namespace timbre::store
