#include "sqlite/migrations.h"

namespace timbre::store::sqlite {
namespace {

// Types and SQL stay close to what PostgreSQL accepts (INTEGER/BIGINT, REAL/DOUBLE
// PRECISION, TEXT), so the PostgreSQL backend can mirror this schema.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE tracks (
  id INTEGER PRIMARY KEY,
  path TEXT NOT NULL UNIQUE,
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  content_hash TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'gone')),
  error_reason TEXT NOT NULL DEFAULT '',
  error_message TEXT NOT NULL DEFAULT '',
  signature TEXT NOT NULL DEFAULT '',
  container TEXT NOT NULL DEFAULT '',
  codec TEXT NOT NULL DEFAULT '',
  duration REAL NOT NULL DEFAULT 0,
  sample_rate INTEGER NOT NULL DEFAULT 0,
  channels INTEGER NOT NULL DEFAULT 0,
  bitrate INTEGER NOT NULL DEFAULT 0,
  title TEXT NOT NULL DEFAULT '',
  artist TEXT NOT NULL DEFAULT '',
  album TEXT NOT NULL DEFAULT '',
  album_artist TEXT NOT NULL DEFAULT '',
  genre TEXT NOT NULL DEFAULT '',
  track_number INTEGER NOT NULL DEFAULT 0,
  disc_number INTEGER NOT NULL DEFAULT 0,
  year INTEGER NOT NULL DEFAULT 0,
  mb_recording_id TEXT NOT NULL DEFAULT '',
  mb_release_track_id TEXT NOT NULL DEFAULT '',
  mb_album_id TEXT NOT NULL DEFAULT '',
  mb_artist_id TEXT NOT NULL DEFAULT '',
  mb_album_artist_id TEXT NOT NULL DEFAULT '',
  album_key TEXT NOT NULL DEFAULT '',
  first_seen TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX tracks_content_hash ON tracks (content_hash);
CREATE INDEX tracks_album_key ON tracks (album_key);

CREATE TABLE analyses (
  id INTEGER PRIMARY KEY,
  track_id INTEGER NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
  analyzer TEXT NOT NULL,
  analyzer_version INTEGER NOT NULL,
  params TEXT NOT NULL,
  params_hash TEXT NOT NULL,
  engine_version TEXT NOT NULL,
  audio_window TEXT NOT NULL,
  model_ids TEXT NOT NULL DEFAULT '',
  model_sha256 TEXT NOT NULL DEFAULT '',
  seconds REAL NOT NULL,
  notes TEXT NOT NULL DEFAULT '[]',
  created_at TEXT NOT NULL,
  UNIQUE (track_id, analyzer)
);

CREATE TABLE descriptors (
  analysis_id INTEGER NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
  track_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  value REAL NOT NULL,
  unit TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (analysis_id, name)
);
CREATE INDEX descriptors_track ON descriptors (track_id);
CREATE INDEX descriptors_name_value ON descriptors (name, value);

CREATE TABLE text_values (
  analysis_id INTEGER NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
  track_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (analysis_id, name)
);
CREATE INDEX text_values_track ON text_values (track_id);

CREATE TABLE tags (
  track_id INTEGER NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
  analysis_id INTEGER REFERENCES analyses (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  value TEXT NOT NULL DEFAULT '',
  score REAL,
  PRIMARY KEY (track_id, name)
);

CREATE TABLE embeddings (
  track_id INTEGER NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
  analysis_id INTEGER REFERENCES analyses (id) ON DELETE CASCADE,
  space TEXT NOT NULL,
  dim INTEGER NOT NULL,
  vector BLOB NOT NULL,
  PRIMARY KEY (track_id, space)
);

CREATE TABLE scan_errors (
  id INTEGER PRIMARY KEY,
  path TEXT NOT NULL,
  reason TEXT NOT NULL,
  message TEXT NOT NULL,
  at TEXT NOT NULL
);
)sql"},
    // Changes that vector indexes must follow: any write to a vector and any change of a
    // track's status (gone, back, failed) appends the track's id. Cascaded deletes fire the
    // triggers too, so a re-analysed track is logged when its old vector goes.
    {2, R"sql(
CREATE TABLE change_log (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  track_id INTEGER NOT NULL
);
CREATE TRIGGER embeddings_logged_insert AFTER INSERT ON embeddings
BEGIN INSERT INTO change_log (track_id) VALUES (NEW.track_id); END;
CREATE TRIGGER embeddings_logged_update AFTER UPDATE ON embeddings
BEGIN INSERT INTO change_log (track_id) VALUES (NEW.track_id); END;
CREATE TRIGGER embeddings_logged_delete AFTER DELETE ON embeddings
BEGIN INSERT INTO change_log (track_id) VALUES (OLD.track_id); END;
CREATE TRIGGER tracks_logged_status AFTER UPDATE OF status ON tracks
WHEN OLD.status <> NEW.status
BEGIN INSERT INTO change_log (track_id) VALUES (NEW.id); END;
CREATE TRIGGER tracks_logged_delete AFTER DELETE ON tracks
BEGIN INSERT INTO change_log (track_id) VALUES (OLD.id); END;
-- Who this database is: files kept beside it (vector indexes) record the id, so that an
-- index left behind by a deleted and recreated database is never taken for its own.
CREATE TABLE store_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO store_info (key, value) VALUES ('instance_id', lower(hex(randomblob(16))));
CREATE INDEX embeddings_space ON embeddings (space, track_id);
-- Filters on outputs (`--where "bpm > 120"`) read these two indexes only: the output's rows
-- by name and value with their ids, and the analyses of one analyzer.
DROP INDEX descriptors_name_value;
CREATE INDEX descriptors_filter ON descriptors (name, value, analysis_id, track_id);
CREATE INDEX analyses_analyzer ON analyses (analyzer, id);
CREATE INDEX text_values_name ON text_values (name);
)sql"},
    {3, R"sql(
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  priority INTEGER NOT NULL,
  state TEXT NOT NULL
    CHECK (state IN ('pending', 'processing', 'completed', 'failed', 'cancelled')),
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  not_before_ms INTEGER NOT NULL DEFAULT 0,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  progress TEXT NOT NULL DEFAULT '',
  result TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  idempotency_key TEXT UNIQUE,
  request_hash TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  started_at TEXT NOT NULL DEFAULT '',
  finished_at TEXT NOT NULL DEFAULT ''
);
-- The queue is read in this order: runnable jobs by priority, then age.
CREATE INDEX jobs_queue ON jobs (state, priority, id);
CREATE TABLE job_attempts (
  job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  number INTEGER NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (job_id, number)
);
)sql"},
    // Files of analyses, kept by hash in the artifact folder beside the database. They belong
    // to their analysis: replacing or dropping it drops them.
    {4, R"sql(
CREATE TABLE artifacts (
  analysis_id INTEGER NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
  track_id INTEGER NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  media_type TEXT NOT NULL,
  PRIMARY KEY (analysis_id, name)
);
CREATE INDEX artifacts_track ON artifacts (track_id);
CREATE INDEX artifacts_sha256 ON artifacts (sha256);
)sql"},
    // Leased jobs: a processing job is held by one worker ("host:pid", or the name it was
    // given) until its lease ends; a lease not renewed in time hands the job to another.
    {5, R"sql(
ALTER TABLE jobs ADD COLUMN worker TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN lease_until_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE job_attempts ADD COLUMN worker TEXT NOT NULL DEFAULT '';
)sql"},
};

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

}  // namespace timbre::store::sqlite
