#include "sqlite/sqlite_store.h"

#include <mutex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sqlite/job_queries.h"
#include "sqlite/library_queries.h"
#include "sqlite/migrations.h"
#include "sqlite/sqlite_db.h"
#include "timbre/core/clock.h"

namespace timbre::store::sqlite {
namespace {

constexpr const char* kAlbumAnalyzer = analysis::kAlbumLoudnessAnalyzer;

constexpr const char* kTrackColumns =
    "id, path, size, mtime_ns, content_hash, status, signature, error_reason, error_message, "
    "container, codec, duration, sample_rate, channels, bitrate, title, artist, album, "
    "album_artist, genre, track_number, disc_number, year, mb_recording_id, "
    "mb_release_track_id, mb_album_id, mb_artist_id, mb_album_artist_id, album_key, first_seen, "
    "updated_at";

TrackKey ReadKey(const Statement& s) {
  TrackKey k;
  k.id = s.Int(0);
  k.path = s.Text(1);
  k.size = s.Int(2);
  k.mtime_ns = s.Int(3);
  k.content_hash = s.Text(4);
  k.status = ParseTrackStatus(s.Text(5)).value_or(TrackStatus::kFailed);
  k.signature = s.Text(6);
  return k;
}

TrackRecord ReadTrack(const Statement& s) {
  TrackRecord t;
  t.key = ReadKey(s);
  t.error_reason = s.Text(7);
  t.error_message = s.Text(8);
  t.container = s.Text(9);
  t.codec = s.Text(10);
  t.duration = s.Real(11);
  t.sample_rate = static_cast<int>(s.Int(12));
  t.channels = static_cast<int>(s.Int(13));
  t.bitrate = s.Int(14);
  t.tags.title = s.Text(15);
  t.tags.artist = s.Text(16);
  t.tags.album = s.Text(17);
  t.tags.album_artist = s.Text(18);
  t.tags.genre = s.Text(19);
  t.tags.track_number = static_cast<int>(s.Int(20));
  t.tags.disc_number = static_cast<int>(s.Int(21));
  t.tags.year = static_cast<int>(s.Int(22));
  t.tags.musicbrainz_track_id = s.Text(23);
  t.tags.musicbrainz_release_track_id = s.Text(24);
  t.tags.musicbrainz_album_id = s.Text(25);
  t.tags.musicbrainz_artist_id = s.Text(26);
  t.tags.musicbrainz_album_artist_id = s.Text(27);
  t.album_key = s.Text(28);
  t.first_seen = s.Text(29);
  t.updated_at = s.Text(30);
  return t;
}

class SqliteStore : public Store {
 public:
  SqliteStore(std::string path, std::unique_ptr<Database> db, int version)
      : path_(std::move(path)), db_(std::move(db)), version_(version) {
    Statement s(db_->handle(), "SELECT value FROM store_info WHERE key = 'instance_id'");
    Status st;
    if (s.Step(&st)) instance_id_ = s.Text(0);
  }

  std::string description() const override { return "sqlite:" + path_; }
  int schema_version() const override { return version_; }
  const std::string& instance_id() const override { return instance_id_; }

  Result<std::vector<TrackKey>> ListTrackKeys() override {
    std::lock_guard lock(mu_);
    return QueryKeys("SELECT id, path, size, mtime_ns, content_hash, status, signature FROM tracks",
                     "");
  }

  Result<std::vector<TrackKey>> FindByContentHash(const std::string& hash) override {
    std::lock_guard lock(mu_);
    return QueryKeys(
        "SELECT id, path, size, mtime_ns, content_hash, status, signature FROM tracks "
        "WHERE content_hash = ?1",
        hash);
  }

  Result<int64_t> CommitTrack(const TrackWrite& w) override {
    // Files first, outside the lock (hashing and syncing take a while): a crash before the
    // rows commit leaves files no row names, which garbage collection removes.
    ArtifactFiles files(artifact_dir());
    std::vector<std::vector<std::pair<std::string, PutArtifact>>> put(w.analyses.size());
    for (size_t i = 0; i < w.analyses.size(); ++i) {
      for (const auto& [name, file] : w.analyses[i].output.files) {
        auto stored = files.Put(file);
        if (!stored.ok()) return stored.status();
        put[i].emplace_back(name, *stored);
      }
    }
    std::lock_guard lock(mu_);
    Transaction tx(*db_);
    TIMBRE_RETURN_IF_ERROR(tx.begun());
    const TrackRecord& t = w.track;
    const std::string now = NowIso8601();

    // The album it leaves (if its tags changed) and the one it joins both need new gains.
    std::string old_album;
    {
      Statement s(db_->handle(), "SELECT album_key FROM tracks WHERE path = ?1");
      s.Bind(1, t.key.path);
      Status st;
      if (s.Step(&st)) old_album = s.Text(0);
      TIMBRE_RETURN_IF_ERROR(st);
    }
    Statement up(db_->handle(), R"sql(
INSERT INTO tracks (path, size, mtime_ns, content_hash, status, signature, error_reason,
  error_message, container, codec, duration, sample_rate, channels, bitrate, title, artist,
  album, album_artist, genre, track_number, disc_number, year, mb_recording_id,
  mb_release_track_id, mb_album_id, mb_artist_id, mb_album_artist_id, album_key, first_seen,
  updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
  ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?29)
ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
  content_hash = excluded.content_hash, status = excluded.status,
  signature = excluded.signature, error_reason = excluded.error_reason,
  error_message = excluded.error_message, container = excluded.container,
  codec = excluded.codec, duration = excluded.duration, sample_rate = excluded.sample_rate,
  channels = excluded.channels, bitrate = excluded.bitrate, title = excluded.title,
  artist = excluded.artist, album = excluded.album, album_artist = excluded.album_artist,
  genre = excluded.genre, track_number = excluded.track_number,
  disc_number = excluded.disc_number, year = excluded.year,
  mb_recording_id = excluded.mb_recording_id,
  mb_release_track_id = excluded.mb_release_track_id, mb_album_id = excluded.mb_album_id,
  mb_artist_id = excluded.mb_artist_id, mb_album_artist_id = excluded.mb_album_artist_id,
  album_key = excluded.album_key, updated_at = excluded.updated_at
RETURNING id)sql");
    up.Bind(1, t.key.path).Bind(2, t.key.size).Bind(3, t.key.mtime_ns).Bind(4, t.key.content_hash);
    up.Bind(5, TrackStatusName(t.key.status)).Bind(6, t.key.signature).Bind(7, t.error_reason);
    up.Bind(8, t.error_message).Bind(9, t.container).Bind(10, t.codec).Bind(11, t.duration);
    up.Bind(12, t.sample_rate).Bind(13, t.channels).Bind(14, t.bitrate).Bind(15, t.tags.title);
    up.Bind(16, t.tags.artist).Bind(17, t.tags.album).Bind(18, t.tags.album_artist);
    up.Bind(19, t.tags.genre).Bind(20, t.tags.track_number).Bind(21, t.tags.disc_number);
    up.Bind(22, t.tags.year).Bind(23, t.tags.musicbrainz_track_id);
    up.Bind(24, t.tags.musicbrainz_release_track_id).Bind(25, t.tags.musicbrainz_album_id);
    up.Bind(26, t.tags.musicbrainz_artist_id).Bind(27, t.tags.musicbrainz_album_artist_id);
    up.Bind(28, t.album_key).Bind(29, now);
    Status st;
    if (!up.Step(&st)) return st.ok() ? Internal("upsert returned no id") : st;
    const int64_t id = up.Int(0);
    up.Reset();

    if (w.partial) {
      Statement del(db_->handle(), "DELETE FROM analyses WHERE track_id = ?1 AND analyzer = ?2");
      for (const auto& a : w.analyses) {
        del.Bind(1, id).Bind(2, a.provenance.analyzer);
        TIMBRE_RETURN_IF_ERROR(del.Run());
        del.Reset();
      }
    } else {
      Statement del(db_->handle(), "DELETE FROM analyses WHERE track_id = ?1");
      del.Bind(1, id);
      TIMBRE_RETURN_IF_ERROR(del.Run());
    }
    for (size_t i = 0; i < w.analyses.size(); ++i) {
      TIMBRE_RETURN_IF_ERROR(InsertAnalysis(id, w.analyses[i], now, put[i]));
    }
    TIMBRE_RETURN_IF_ERROR(InvalidateAlbum(t.album_key));
    if (old_album != t.album_key) TIMBRE_RETURN_IF_ERROR(InvalidateAlbum(old_album));
    TIMBRE_RETURN_IF_ERROR(tx.Commit());
    return id;
  }

  Status MoveTrack(int64_t id, const std::string& new_path, int64_t size,
                   int64_t mtime_ns) override {
    std::lock_guard lock(mu_);
    Transaction tx(*db_);
    TIMBRE_RETURN_IF_ERROR(tx.begun());
    // A row already at the new path (a file that was deleted there earlier) gives way.
    Statement del(db_->handle(), "DELETE FROM tracks WHERE path = ?1 AND id <> ?2");
    del.Bind(1, new_path).Bind(2, id);
    TIMBRE_RETURN_IF_ERROR(del.Run());
    Statement s(db_->handle(), R"sql(
UPDATE tracks SET path = ?2, size = ?3, mtime_ns = ?4, updated_at = ?5,
  status = CASE WHEN error_reason = '' THEN 'ok' ELSE 'failed' END
WHERE id = ?1)sql");
    s.Bind(1, id).Bind(2, new_path).Bind(3, size).Bind(4, mtime_ns).Bind(5, NowIso8601());
    TIMBRE_RETURN_IF_ERROR(s.Run());
    if (sqlite3_changes(db_->handle()) != 1)
      return NotFound(fmt::format("no track with id {}", id));
    TIMBRE_RETURN_IF_ERROR(InvalidateAlbumOf(id));
    return tx.Commit();
  }

  Status RecordRewrite(int64_t id, int64_t size, int64_t mtime_ns,
                       const std::string& content_hash) override {
    std::lock_guard lock(mu_);
    Statement s(db_->handle(), R"sql(
UPDATE tracks SET size = ?2, mtime_ns = ?3, content_hash = ?4, updated_at = ?5 WHERE id = ?1)sql");
    s.Bind(1, id).Bind(2, size).Bind(3, mtime_ns).Bind(4, content_hash).Bind(5, NowIso8601());
    TIMBRE_RETURN_IF_ERROR(s.Run());
    if (sqlite3_changes(db_->handle()) != 1)
      return NotFound(fmt::format("no track with id {}", id));
    return Status::Ok();
  }

  Status SetSignature(int64_t id, const std::string& signature) override {
    std::lock_guard lock(mu_);
    Statement s(db_->handle(), "UPDATE tracks SET signature = ?2 WHERE id = ?1");
    s.Bind(1, id).Bind(2, signature);
    return s.Run();
  }

  Status MarkGone(const std::vector<int64_t>& ids) override {
    if (ids.empty()) return Status::Ok();
    std::lock_guard lock(mu_);
    Transaction tx(*db_);
    TIMBRE_RETURN_IF_ERROR(tx.begun());
    // The signature is cleared so that a file coming back is analysed again, files included.
    Statement s(db_->handle(),
                "UPDATE tracks SET status = 'gone', signature = '', updated_at = ?2 WHERE id = ?1");
    Statement files(db_->handle(), R"sql(
DELETE FROM analyses WHERE id IN (SELECT analysis_id FROM artifacts WHERE track_id = ?1))sql");
    const std::string now = NowIso8601();
    for (int64_t id : ids) {
      s.Bind(1, id).Bind(2, now);
      TIMBRE_RETURN_IF_ERROR(s.Run());
      s.Reset();
      files.Bind(1, id);
      TIMBRE_RETURN_IF_ERROR(files.Run());
      files.Reset();
      TIMBRE_RETURN_IF_ERROR(InvalidateAlbumOf(id));
    }
    return tx.Commit();
  }

  Status RecordScanError(const std::string& path, std::string_view reason,
                         const std::string& message) override {
    std::lock_guard lock(mu_);
    Statement s(db_->handle(),
                "INSERT INTO scan_errors (path, reason, message, at) VALUES (?1, ?2, ?3, ?4)");
    s.Bind(1, path).Bind(2, reason).Bind(3, message).Bind(4, NowIso8601());
    return s.Run();
  }

  Result<std::vector<std::string>> AlbumsNeedingGain() override {
    std::lock_guard lock(mu_);
    Statement s(db_->handle(), R"sql(
SELECT DISTINCT t.album_key FROM tracks t
WHERE t.status = 'ok' AND t.album_key <> '' AND NOT EXISTS (
  SELECT 1 FROM analyses a WHERE a.track_id = t.id AND a.analyzer = ?1)
ORDER BY t.album_key)sql");
    s.Bind(1, std::string_view(kAlbumAnalyzer));
    std::vector<std::string> out;
    Status st;
    while (s.Step(&st)) out.push_back(s.Text(0));
    if (!st.ok()) return st;
    return out;
  }

  Result<std::vector<AlbumMember>> AlbumMembers(const std::string& album_key) override {
    std::lock_guard lock(mu_);
    Statement s(db_->handle(), R"sql(
SELECT t.id, COALESCE(h.value, ''), COALESCE(p.value, 0) FROM tracks t
LEFT JOIN analyses a ON a.track_id = t.id AND a.analyzer = 'loudness'
LEFT JOIN text_values h ON h.analysis_id = a.id AND h.name = 'block_histogram'
LEFT JOIN descriptors p ON p.analysis_id = a.id AND p.name = 'true_peak'
WHERE t.album_key = ?1 AND t.status = 'ok' ORDER BY t.id)sql");
    s.Bind(1, album_key);
    std::vector<AlbumMember> out;
    Status st;
    while (s.Step(&st)) out.push_back({s.Int(0), s.Text(1), s.Real(2)});
    if (!st.ok()) return st;
    return out;
  }

  Status SetAlbumGain(const analysis::AnalysisRecord& record,
                      const std::vector<int64_t>& members) override {
    std::lock_guard lock(mu_);
    Transaction tx(*db_);
    TIMBRE_RETURN_IF_ERROR(tx.begun());
    const std::string now = NowIso8601();
    Statement del(db_->handle(), "DELETE FROM analyses WHERE track_id = ?1 AND analyzer = ?2");
    for (int64_t id : members) {
      del.Bind(1, id).Bind(2, std::string_view(kAlbumAnalyzer));
      TIMBRE_RETURN_IF_ERROR(del.Run());
      del.Reset();
      TIMBRE_RETURN_IF_ERROR(InsertAnalysis(id, record, now));
    }
    return tx.Commit();
  }

  Result<std::optional<TrackDetails>> GetTrack(int64_t id) override {
    std::lock_guard lock(mu_);
    // The statements are prepared once and kept (a server asks for tracks all the time); each
    // is stepped to its end or reset, so none holds a read open after the call.
    static const std::string kTrackSql =
        fmt::format("SELECT {} FROM tracks WHERE id = ?1", kTrackColumns);
    TrackDetails d;
    {
      Statement& s = db_->Cached(kTrackSql.c_str());
      TIMBRE_RETURN_IF_ERROR(s.prepared());
      s.Bind(1, id);
      Status st;
      if (!s.Step(&st)) {
        if (!st.ok()) return st;
        return std::optional<TrackDetails>();
      }
      d.track = ReadTrack(s);
      s.Reset();
    }
    Status st;
    Statement& a = db_->Cached(R"sql(
SELECT analyzer, analyzer_version, params, params_hash, engine_version, audio_window, seconds,
  notes, created_at, model_ids, model_sha256 FROM analyses WHERE track_id = ?1
ORDER BY analyzer)sql");
    TIMBRE_RETURN_IF_ERROR(a.prepared());
    a.Bind(1, id);
    while (a.Step(&st)) {
      StoredAnalysis sa;
      sa.provenance = {a.Text(0), static_cast<int>(a.Int(1)),
                       a.Text(2), a.Text(3),
                       a.Text(4), a.Text(5),
                       a.Real(6), a.Text(9),
                       a.Text(10)};
      auto notes = nlohmann::json::parse(a.Text(7), nullptr, false);
      if (notes.is_array()) {
        for (const auto& n : notes) {
          if (n.is_string()) sa.notes.push_back(n.get<std::string>());
        }
      }
      sa.created_at = a.Text(8);
      d.analyses.push_back(std::move(sa));
    }
    if (!st.ok()) return st;
    Statement& ds = db_->Cached(R"sql(
SELECT a.analyzer, d.name, d.value, d.unit FROM descriptors d JOIN analyses a ON a.id = d.analysis_id
WHERE d.track_id = ?1 ORDER BY a.analyzer, d.name)sql");
    TIMBRE_RETURN_IF_ERROR(ds.prepared());
    ds.Bind(1, id);
    while (ds.Step(&st)) d.descriptors.push_back({ds.Text(0), ds.Text(1), ds.Real(2), ds.Text(3)});
    if (!st.ok()) return st;
    Statement& ts = db_->Cached(R"sql(
SELECT a.analyzer, v.name, v.value FROM text_values v JOIN analyses a ON a.id = v.analysis_id
WHERE v.track_id = ?1 ORDER BY a.analyzer, v.name)sql");
    TIMBRE_RETURN_IF_ERROR(ts.prepared());
    ts.Bind(1, id);
    while (ts.Step(&st)) d.texts.push_back({ts.Text(0), ts.Text(1), ts.Text(2)});
    if (!st.ok()) return st;
    Statement& gs = db_->Cached(R"sql(
SELECT COALESCE(a.analyzer, ''), g.name, g.value, COALESCE(g.score, 0) FROM tags g
LEFT JOIN analyses a ON a.id = g.analysis_id WHERE g.track_id = ?1 ORDER BY g.name)sql");
    TIMBRE_RETURN_IF_ERROR(gs.prepared());
    gs.Bind(1, id);
    while (gs.Step(&st)) d.tags.push_back({gs.Text(0), gs.Text(1), gs.Text(2), gs.Real(3)});
    if (!st.ok()) return st;
    Statement& fs = db_->Cached(R"sql(
SELECT a.analyzer, f.name, f.sha256, f.size, f.media_type FROM artifacts f
JOIN analyses a ON a.id = f.analysis_id WHERE f.track_id = ?1 ORDER BY a.analyzer, f.name)sql");
    TIMBRE_RETURN_IF_ERROR(fs.prepared());
    fs.Bind(1, id);
    while (fs.Step(&st)) {
      d.artifacts.push_back({fs.Text(0), fs.Text(1), fs.Text(2), fs.Int(3), fs.Text(4)});
    }
    if (!st.ok()) return st;
    return std::optional<TrackDetails>(std::move(d));
  }

  Result<std::optional<int64_t>> FindTrackId(const std::string& path) override {
    std::lock_guard lock(mu_);
    Statement s(db_->handle(), "SELECT id FROM tracks WHERE path = ?1");
    s.Bind(1, path);
    Status st;
    if (s.Step(&st)) return std::optional<int64_t>(s.Int(0));
    if (!st.ok()) return st;
    return std::optional<int64_t>();
  }

  Result<LibraryStats> Stats() override {
    std::lock_guard lock(mu_);
    LibraryStats out;
    Status st;
    {
      Statement s(db_->handle(), R"sql(
SELECT COUNT(*), COALESCE(SUM(status = 'ok'), 0), COALESCE(SUM(status = 'failed'), 0),
  COALESCE(SUM(status = 'gone'), 0),
  COALESCE(SUM(CASE WHEN status = 'ok' THEN duration ELSE 0 END), 0),
  COALESCE(SUM(CASE WHEN status <> 'gone' THEN size ELSE 0 END), 0),
  COUNT(DISTINCT CASE WHEN status = 'ok' AND album_key <> '' THEN album_key END)
FROM tracks)sql");
      if (s.Step(&st)) {
        out.tracks = s.Int(0);
        out.ok = s.Int(1);
        out.failed = s.Int(2);
        out.gone = s.Int(3);
        out.total_seconds = s.Real(4);
        out.total_bytes = s.Int(5);
        out.albums = s.Int(6);
      }
      if (!st.ok()) return st;
    }
    auto counts = [&](const char* sql, std::vector<CountByName>& into) -> Status {
      Statement s(db_->handle(), sql);
      Status e;
      while (s.Step(&e)) into.push_back({s.Text(0), s.Int(1)});
      return e;
    };
    TIMBRE_RETURN_IF_ERROR(
        counts("SELECT container, COUNT(*) FROM tracks WHERE status = 'ok' GROUP BY container "
               "ORDER BY COUNT(*) DESC, container",
               out.containers));
    TIMBRE_RETURN_IF_ERROR(counts(
        "SELECT error_reason, COUNT(*) FROM tracks WHERE status = 'failed' GROUP BY error_reason "
        "ORDER BY COUNT(*) DESC, error_reason",
        out.failures_by_reason));
    return out;
  }

  std::filesystem::path index_dir() const override { return path_ + ".index"; }
  std::filesystem::path artifact_dir() const override { return path_ + ".artifacts"; }
  Result<std::vector<std::string>> ArtifactHashes() override {
    std::lock_guard lock(mu_);
    Statement s(db_->handle(), "SELECT DISTINCT sha256 FROM artifacts");
    std::vector<std::string> out;
    Status st;
    while (s.Step(&st)) out.push_back(s.Text(0));
    if (!st.ok()) return st;
    return out;
  }

  Result<std::vector<TrackNumbers>> NumbersOfTracksWithout(const std::string& space) override {
    std::lock_guard lock(mu_);
    return sqlite::NumbersOfTracksWithout(*db_, space);
  }
  Status PutEmbeddings(const std::vector<EmbeddingWrite>& rows) override {
    std::lock_guard lock(mu_);
    return sqlite::PutEmbeddings(*db_, rows);
  }
  Result<std::vector<StoredEmbedding>> LoadEmbeddings(const std::string& space,
                                                      const std::vector<int64_t>* only) override {
    std::lock_guard lock(mu_);
    return sqlite::LoadEmbeddings(*db_, space, only);
  }
  Result<std::vector<std::string>> EmbeddingSpaces() override {
    std::lock_guard lock(mu_);
    return sqlite::EmbeddingSpaces(*db_);
  }
  Result<int64_t> LastChange() override {
    std::lock_guard lock(mu_);
    return sqlite::LastChange(*db_);
  }
  Result<std::vector<int64_t>> TracksChangedSince(int64_t change) override {
    std::lock_guard lock(mu_);
    return sqlite::TracksChangedSince(*db_, change);
  }
  Result<std::vector<int64_t>> SelectTracks(const TrackFilter& filter) override {
    std::lock_guard lock(mu_);
    return sqlite::SelectTracks(*db_, filter);
  }
  Result<std::vector<TrackSummary>> Summaries(const std::vector<int64_t>& ids) override {
    std::lock_guard lock(mu_);
    return sqlite::Summaries(*db_, ids);
  }
  Result<std::vector<TrackText>> TextOutputs(const std::string& analyzer,
                                             const std::string& name) override {
    std::lock_guard lock(mu_);
    return sqlite::TextOutputs(*db_, analyzer, name);
  }

  Result<JobRecord> SubmitJob(const NewJob& job, bool* replayed) override {
    std::lock_guard lock(mu_);
    return sqlite::SubmitJob(*db_, job, replayed);
  }
  Result<std::optional<JobRecord>> ClaimJob(int64_t now_ms, const JobLease& lease,
                                            const std::vector<std::string>& kinds) override {
    std::lock_guard lock(mu_);
    return sqlite::ClaimJob(*db_, now_ms, lease, kinds);
  }
  Result<bool> RenewJobLease(int64_t id, const JobLease& lease) override {
    std::lock_guard lock(mu_);
    return sqlite::RenewJobLease(*db_, id, lease);
  }
  Status SetJobProgress(int64_t id, const std::string& worker,
                        const std::string& progress_json) override {
    std::lock_guard lock(mu_);
    return sqlite::SetJobProgress(*db_, id, worker, progress_json);
  }
  Result<bool> CompleteJob(int64_t id, const std::string& worker,
                           const std::string& result_json) override {
    std::lock_guard lock(mu_);
    return sqlite::CompleteJob(*db_, id, worker, result_json);
  }
  Result<bool> FailJobAttempt(int64_t id, const std::string& worker, const std::string& error,
                              int64_t retry_at_ms) override {
    std::lock_guard lock(mu_);
    return sqlite::FailJobAttempt(*db_, id, worker, error, retry_at_ms);
  }
  Result<bool> MarkJobCancelled(int64_t id, const std::string& worker) override {
    std::lock_guard lock(mu_);
    return sqlite::MarkJobCancelled(*db_, id, worker);
  }
  Result<std::optional<JobRecord>> CancelJob(int64_t id) override {
    std::lock_guard lock(mu_);
    return sqlite::CancelJob(*db_, id);
  }
  Result<std::optional<JobRecord>> GetJob(int64_t id) override {
    std::lock_guard lock(mu_);
    return sqlite::GetJob(*db_, id);
  }
  Result<std::vector<JobRecord>> ListJobs(std::optional<JobState> state, size_t limit) override {
    std::lock_guard lock(mu_);
    return sqlite::ListJobs(*db_, state, limit);
  }
  Result<size_t> ReleaseJobsOf(const std::vector<std::string>& workers,
                               const std::string& reason) override {
    std::lock_guard lock(mu_);
    return sqlite::ReleaseJobsOf(*db_, workers, reason);
  }
  Result<size_t> ReapExpiredLeases(int64_t now_ms) override {
    std::lock_guard lock(mu_);
    return sqlite::ReapExpiredLeases(*db_, now_ms);
  }
  Result<std::vector<std::string>> JobWorkers() override {
    std::lock_guard lock(mu_);
    return sqlite::JobWorkers(*db_);
  }
  Result<JobCounts> CountJobs() override {
    std::lock_guard lock(mu_);
    return sqlite::CountJobs(*db_);
  }

 private:
  Result<std::vector<TrackKey>> QueryKeys(const char* sql, const std::string& arg) {
    Statement s(db_->handle(), sql);
    if (!arg.empty()) s.Bind(1, arg);
    std::vector<TrackKey> out;
    Status st;
    while (s.Step(&st)) out.push_back(ReadKey(s));
    if (!st.ok()) return st;
    return out;
  }

  // Callers hold mu_ and an open transaction.
  Status InsertAnalysis(int64_t track_id, const analysis::AnalysisRecord& a, const std::string& now,
                        const std::vector<std::pair<std::string, PutArtifact>>& files = {}) {
    const auto& p = a.provenance;
    nlohmann::json notes = a.output.notes;
    Statement s(db_->handle(), R"sql(
INSERT INTO analyses (track_id, analyzer, analyzer_version, params, params_hash, engine_version,
  audio_window, seconds, notes, created_at, model_ids, model_sha256)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING id)sql");
    s.Bind(1, track_id).Bind(2, p.analyzer).Bind(3, p.analyzer_version).Bind(4, p.params);
    s.Bind(5, p.params_hash).Bind(6, p.engine_version).Bind(7, p.window).Bind(8, p.seconds);
    s.Bind(9, notes.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)).Bind(10, now);
    s.Bind(11, p.model_ids).Bind(12, p.model_sha256);
    Status st;
    if (!s.Step(&st)) return st.ok() ? Internal("insert returned no id") : st;
    const int64_t analysis_id = s.Int(0);
    s.Reset();
    Statement d(db_->handle(),
                "INSERT INTO descriptors (analysis_id, track_id, name, value, unit) "
                "VALUES (?1, ?2, ?3, ?4, ?5)");
    for (const auto& [name, value] : a.output.numbers) {
      auto unit = a.units.find(name);
      d.Bind(1, analysis_id).Bind(2, track_id).Bind(3, name).Bind(4, value);
      d.Bind(5, unit == a.units.end() ? std::string_view() : std::string_view(unit->second));
      TIMBRE_RETURN_IF_ERROR(d.Run());
      d.Reset();
    }
    Statement t(
        db_->handle(),
        "INSERT INTO text_values (analysis_id, track_id, name, value) VALUES (?1, ?2, ?3, ?4)");
    for (const auto& [name, value] : a.output.texts) {
      t.Bind(1, analysis_id).Bind(2, track_id).Bind(3, name).Bind(4, value);
      TIMBRE_RETURN_IF_ERROR(t.Run());
      t.Reset();
    }
    // Model outputs: the track's vector in each embedding space, and its tags. Both belong to
    // this analysis, so replacing the analysis replaces them.
    Statement v(db_->handle(), R"sql(
INSERT INTO embeddings (track_id, analysis_id, space, dim, vector) VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (track_id, space) DO UPDATE SET analysis_id = excluded.analysis_id,
  dim = excluded.dim, vector = excluded.vector)sql");
    for (const auto& [space, vector] : a.output.vectors) {
      v.Bind(1, track_id).Bind(2, analysis_id).Bind(3, space);
      v.Bind(4, static_cast<int64_t>(vector.size()));
      v.BindBlob(5, vector.data(), vector.size() * sizeof(float));
      TIMBRE_RETURN_IF_ERROR(v.Run());
      v.Reset();
    }
    Statement g(db_->handle(), R"sql(
INSERT INTO tags (track_id, analysis_id, name, value, score) VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (track_id, name) DO UPDATE SET analysis_id = excluded.analysis_id,
  value = excluded.value, score = excluded.score)sql");
    for (const auto& tag : a.output.tags) {
      g.Bind(1, track_id).Bind(2, analysis_id).Bind(3, tag.name).Bind(4, tag.value);
      g.Bind(5, tag.score);
      TIMBRE_RETURN_IF_ERROR(g.Run());
      g.Reset();
    }
    Statement f(db_->handle(), R"sql(
INSERT INTO artifacts (analysis_id, track_id, name, sha256, size, media_type)
VALUES (?1, ?2, ?3, ?4, ?5, ?6))sql");
    for (const auto& [name, put] : files) {
      f.Bind(1, analysis_id).Bind(2, track_id).Bind(3, name).Bind(4, put.sha256);
      f.Bind(5, put.size).Bind(6, a.output.files.at(name).media_type);
      TIMBRE_RETURN_IF_ERROR(f.Run());
      f.Reset();
    }
    return Status::Ok();
  }

  Status InvalidateAlbum(const std::string& album_key) {
    if (album_key.empty()) return Status::Ok();
    Statement s(db_->handle(), R"sql(
DELETE FROM analyses WHERE analyzer = ?2 AND track_id IN (
  SELECT id FROM tracks WHERE album_key = ?1))sql");
    s.Bind(1, album_key).Bind(2, std::string_view(kAlbumAnalyzer));
    return s.Run();
  }

  Status InvalidateAlbumOf(int64_t track_id) {
    Statement s(db_->handle(), "SELECT album_key FROM tracks WHERE id = ?1");
    s.Bind(1, track_id);
    Status st;
    std::string key;
    if (s.Step(&st)) key = s.Text(0);
    TIMBRE_RETURN_IF_ERROR(st);
    return InvalidateAlbum(key);
  }

  std::mutex mu_;
  std::string path_;
  std::unique_ptr<Database> db_;
  int version_;
  std::string instance_id_;
};

Result<int> Migrate(Database& db) {
  TIMBRE_RETURN_IF_ERROR(
      db.Exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
              "applied_at TEXT NOT NULL)"));
  int current = 0;
  {
    Statement s(db.handle(), "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    Status st;
    if (s.Step(&st)) current = static_cast<int>(s.Int(0));
    TIMBRE_RETURN_IF_ERROR(st);
  }
  const auto migrations = Migrations();
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  if (current > latest) {
    return Unsupported(fmt::format(
        "the database has schema version {}, newer than this timbre knows ({}); upgrade timbre",
        current, latest));
  }
  for (const auto& m : migrations) {
    if (m.version <= current) continue;
    Transaction tx(db);
    TIMBRE_RETURN_IF_ERROR(tx.begun());
    TIMBRE_RETURN_IF_ERROR(db.Exec(m.sql));
    Statement s(db.handle(), "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)");
    s.Bind(1, m.version).Bind(2, NowIso8601());
    TIMBRE_RETURN_IF_ERROR(s.Run());
    TIMBRE_RETURN_IF_ERROR(tx.Commit());
  }
  return latest;
}

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  auto db = Database::Open(path);
  if (!db.ok()) return db.status();
  // WAL lets readers (show, stats, the server) work during a scan; NORMAL sync keeps every
  // committed track across a killed process.
  TIMBRE_RETURN_IF_ERROR((*db)->Exec(
      "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
      // Reads through a memory map and a 64 MiB page cache: a server answering lookups
      // otherwise spends its time copying pages out of the kernel.
      "PRAGMA mmap_size = 1073741824; PRAGMA cache_size = -65536;"));
  auto version = Migrate(**db);
  if (!version.ok()) return version.status();
  return std::unique_ptr<Store>(
      std::make_unique<SqliteStore>(path, std::move(db).value(), *version));
}

}  // namespace timbre::store::sqlite
