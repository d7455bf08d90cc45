#include "timbre/store/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>

#include "test_support.h"

namespace timbre::store {
namespace {

using timbre::testing::TempDir;

TrackWrite MakeWrite(const std::string& path, const std::string& album_key = "",
                     double integrated = -14.0) {
  TrackWrite w;
  w.track.key.path = path;
  w.track.key.size = 1000;
  w.track.key.mtime_ns = 42;
  w.track.key.content_hash = "hash-of-" + path;
  w.track.key.signature = "sig1";
  w.track.key.status = TrackStatus::kOk;
  w.track.codec = "flac";
  w.track.container = "flac";
  w.track.duration = 12.5;
  w.track.tags.title = "Title";
  w.track.tags.album = album_key.empty() ? "" : "Album";
  w.track.album_key = album_key;
  analysis::AnalysisRecord a;
  a.provenance = {"loudness", 1, "true_peak=1", "abc", "0.1.0", "whole stream", 0.01, "", ""};
  a.output.numbers = {{"integrated", integrated}, {"true_peak", 0.9}};
  a.output.texts = {{"block_histogram", "500:10"}};
  a.output.notes = {"a note"};
  a.units = {{"integrated", "LUFS"}, {"true_peak", "FS"}};
  w.analyses.push_back(a);
  return w;
}

TEST(SqliteStoreTest, CreatesMigratesAndReopens) {
  TempDir dir;
  const std::string db = (dir / "sub" / "t.db").string();
  std::string first_id;
  {
    auto s = OpenStore(db);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ((*s)->schema_version(), 5);
    EXPECT_EQ((*s)->description(), "sqlite:" + db);
    first_id = (*s)->instance_id();
    ASSERT_TRUE((*s)->CommitTrack(MakeWrite("/m/a.flac")).ok());
  }
  auto again = OpenStore("sqlite:" + db);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->instance_id().size(), 32u);
  EXPECT_EQ((*again)->instance_id(), first_id);  // kept across openings
  auto other = OpenStore((dir / "other.db").string());
  ASSERT_TRUE(other.ok());
  EXPECT_NE((*other)->instance_id(), (*again)->instance_id());
  auto keys = (*again)->ListTrackKeys();
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].path, "/m/a.flac");
}

TEST(SqliteStoreTest, CommitReplacesAnalysesAtomically) {
  TempDir dir;
  auto s = OpenStore((dir / "t.db").string());
  ASSERT_TRUE(s.ok());
  auto id1 = (*s)->CommitTrack(MakeWrite("/m/a.flac", "", -14.0));
  auto id2 = (*s)->CommitTrack(MakeWrite("/m/a.flac", "", -9.0));
  ASSERT_TRUE(id1.ok() && id2.ok());
  EXPECT_EQ(*id1, *id2);  // same path, same row
  auto d = (*s)->GetTrack(*id1);
  ASSERT_TRUE(d.ok() && d->has_value());
  const TrackDetails& t = **d;
  ASSERT_EQ(t.analyses.size(), 1u);
  EXPECT_EQ(t.analyses[0].provenance.params, "true_peak=1");
  EXPECT_EQ(t.analyses[0].notes, std::vector<std::string>{"a note"});
  ASSERT_EQ(t.descriptors.size(), 2u);
  EXPECT_EQ(t.descriptors[0].name, "integrated");
  EXPECT_EQ(t.descriptors[0].value, -9.0);
  EXPECT_EQ(t.descriptors[0].unit, "LUFS");
  ASSERT_EQ(t.texts.size(), 1u);
  EXPECT_EQ(t.track.duration, 12.5);
  EXPECT_EQ(t.track.tags.title, "Title");
  EXPECT_FALSE(t.track.first_seen.empty());
  // The queries are prepared once and kept: an absent track, then the same one again, then
  // a write, which no kept query may hold back.
  auto absent = (*s)->GetTrack(*id1 + 1000);
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());
  auto again = (*s)->GetTrack(*id1);
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->descriptors.size(), 2u);
  EXPECT_EQ((*again)->descriptors[0].value, -9.0);
  ASSERT_TRUE((*s)->CommitTrack(MakeWrite("/m/a.flac", "", -7.0)).ok());
  EXPECT_EQ((*(*s)->GetTrack(*id1))->descriptors[0].value, -7.0);
}

TEST(SqliteStoreTest, MoveGoneAndHashLookup) {
  TempDir dir;
  auto s = OpenStore((dir / "t.db").string());
  ASSERT_TRUE(s.ok());
  auto id = (*s)->CommitTrack(MakeWrite("/m/a.flac"));
  ASSERT_TRUE(id.ok());
  auto found = (*s)->FindByContentHash("hash-of-/m/a.flac");
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
  ASSERT_TRUE((*s)->MarkGone({*id}).ok());
  EXPECT_EQ((*(*s)->GetTrack(*id))->track.key.status, TrackStatus::kGone);
  ASSERT_TRUE((*s)->MoveTrack(*id, "/m/b.flac", 1000, 43).ok());
  auto moved = (*s)->GetTrack(*id);
  EXPECT_EQ((**moved).track.key.path, "/m/b.flac");
  EXPECT_EQ((**moved).track.key.status, TrackStatus::kOk);
  EXPECT_EQ((**moved).analyses.size(), 1u);  // results travel with the move
  EXPECT_FALSE((*s)->MoveTrack(9999, "/x", 1, 1).ok());
  EXPECT_EQ(**(*s)->FindTrackId("/m/b.flac"), *id);
  EXPECT_FALSE((*(*s)->FindTrackId("/m/a.flac")).has_value());
}

TEST(SqliteStoreTest, AlbumGainIsInvalidatedByMembership) {
  TempDir dir;
  auto s = OpenStore((dir / "t.db").string());
  ASSERT_TRUE(s.ok());
  auto a = (*s)->CommitTrack(MakeWrite("/m/1.flac", "album-x"));
  auto b = (*s)->CommitTrack(MakeWrite("/m/2.flac", "album-x"));
  ASSERT_TRUE(a.ok() && b.ok());
  auto need = (*s)->AlbumsNeedingGain();
  ASSERT_TRUE(need.ok());
  ASSERT_EQ(*need, std::vector<std::string>{"album-x"});
  auto members = (*s)->AlbumMembers("album-x");
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->size(), 2u);
  EXPECT_EQ((*members)[0].histogram, "500:10");
  EXPECT_EQ((*members)[0].true_peak, 0.9);
  analysis::AnalysisRecord album;
  album.provenance = {"album_loudness", 1, "", "h", "0.1.0", "album of 2 tracks", 0.0, "", ""};
  album.output.numbers = {{"replaygain_album_gain", -1.0}};
  const Status set = (*s)->SetAlbumGain(album, {*a, *b});
  ASSERT_TRUE(set.ok()) << set.ToString();
  EXPECT_TRUE((*s)->AlbumsNeedingGain()->empty());
  // A member going away makes the album's gain stale again.
  ASSERT_TRUE((*s)->MarkGone({*b}).ok());
  EXPECT_EQ(*(*s)->AlbumsNeedingGain(), std::vector<std::string>{"album-x"});
  EXPECT_EQ((*s)->AlbumMembers("album-x")->size(), 1u);
}

TEST(SqliteStoreTest, StatsCountsByStatusAndReason) {
  TempDir dir;
  auto s = OpenStore((dir / "t.db").string());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->CommitTrack(MakeWrite("/m/1.flac")).ok());
  TrackWrite bad = MakeWrite("/m/2.flac");
  bad.track.key.status = TrackStatus::kFailed;
  bad.track.error_reason = "truncated";
  bad.analyses.clear();
  ASSERT_TRUE((*s)->CommitTrack(bad).ok());
  ASSERT_TRUE((*s)->RecordScanError("/m/2.flac", "truncated", "cut").ok());
  auto st = (*s)->Stats();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->tracks, 2);
  EXPECT_EQ(st->ok, 1);
  EXPECT_EQ(st->failed, 1);
  EXPECT_DOUBLE_EQ(st->total_seconds, 12.5);
  ASSERT_EQ(st->failures_by_reason.size(), 1u);
  EXPECT_EQ(st->failures_by_reason[0].name, "truncated");
}

TEST(SqliteStoreTest, BadDatabaseFilesAreClearErrors) {
  TempDir dir;
  std::ofstream(dir / "notes.db") << "this is a text file, not a database, and it is long enough";
  auto text = OpenStore((dir / "notes.db").string());
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find("not a"), std::string::npos) << text.status().message();
  auto directory = OpenStore(dir.path().string());
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.status().code(), StatusCode::kInvalidArgument);
  auto pg = OpenStore("postgresql://localhost/timbre");
  EXPECT_EQ(pg.status().code(), StatusCode::kUnsupported);
}

TEST(SqliteStoreTest, RefusesANewerSchema) {
  TempDir dir;
  const std::string db = (dir / "t.db").string();
  ASSERT_TRUE(OpenStore(db).ok());
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "INSERT INTO schema_migrations VALUES (99, 'future')", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  auto s = OpenStore(db);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("newer"), std::string::npos);
}

}  // namespace
}  // namespace timbre::store

namespace timbre::store {
namespace {

// A write whose waveform analysis made a file.
TrackWrite WithFile(const std::string& path, const std::string& bytes) {
  TrackWrite w = MakeWrite(path);
  analysis::AnalysisRecord f;
  f.provenance = {"waveform", 1, "", "def", "0.1.0", "whole stream", 0.01, "", ""};
  f.output.files["peaks"] = {"application/vnd.audiowaveform.dat", bytes, {}};
  w.analyses.push_back(f);
  return w;
}

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// Files of analyses land in the artifact folder under their sha256, once however many tracks
// share them; rows name them with size and media type; replacing or dropping the analysis
// drops the rows, and the files wait for garbage collection.
TEST(SqliteStoreTest, ArtifactsAreKeptByHashAndFollowTheirAnalysis) {
  TempDir dir;
  auto s = OpenStore((dir / "t.db").string());
  ASSERT_TRUE(s.ok());
  Store& store = **s;
  EXPECT_EQ(store.artifact_dir(), dir / "t.db.artifacts");
  auto a = store.CommitTrack(WithFile("/m/a.flac", "same bytes"));
  auto b = store.CommitTrack(WithFile("/m/b.flac", "same bytes"));
  ASSERT_TRUE(a.ok() && b.ok());
  auto details = *store.GetTrack(*a);
  ASSERT_EQ(details->artifacts.size(), 1u);
  const StoredArtifact art = details->artifacts[0];
  EXPECT_EQ(art.analyzer, "waveform");
  EXPECT_EQ(art.name, "peaks");
  EXPECT_EQ(art.size, 10);
  EXPECT_EQ(art.media_type, "application/vnd.audiowaveform.dat");
  // sha256 of "same bytes", as `printf 'same bytes' | sha256sum` prints it.
  EXPECT_EQ(art.sha256, "58100dc8fc06562ce3e578231dc948e083520ee49c4b4ee5a5a28bb4b4003feb");
  ArtifactFiles files(store.artifact_dir());
  auto path = files.PathOf(art.sha256);
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(ReadAll(*path), "same bytes");
  auto listed = files.List();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 1u);  // one file for both tracks
  EXPECT_EQ(*store.ArtifactHashes(), std::vector<std::string>{art.sha256});

  // Gone: the track's file-making analysis and its row go; its other results stay.
  ASSERT_TRUE(store.MarkGone({*a}).ok());
  details = *store.GetTrack(*a);
  EXPECT_TRUE(details->artifacts.empty());
  EXPECT_EQ(details->analyses.size(), 1u);        // loudness
  EXPECT_EQ(details->track.key.signature, "");    // analysed again if it comes back
  EXPECT_EQ(store.ArtifactHashes()->size(), 1u);  // b still names it
  // Analysed again with other bytes: b's row moves to the new file.
  ASSERT_TRUE(store.CommitTrack(WithFile("/m/b.flac", "other bytes")).ok());
  auto hashes = *store.ArtifactHashes();
  ASSERT_EQ(hashes.size(), 1u);
  EXPECT_NE(hashes[0], art.sha256);
  EXPECT_EQ(files.List()->size(), 2u);  // the old file stays until collected
  // Hashes are checked before they become paths.
  EXPECT_FALSE(files.PathOf("../../etc/passwd").ok());
  EXPECT_FALSE(files.PathOf(std::string(64, 'G')).ok());
}

// A file output written by the analyzer is moved in, not copied.
TEST(SqliteStoreTest, ArtifactFilesAreMovedIn) {
  TempDir dir;
  auto s = OpenStore((dir / "t.db").string());
  ASSERT_TRUE(s.ok());
  std::ofstream(dir / "made.bin", std::ios::binary) << "rendered";
  TrackWrite w = MakeWrite("/m/c.flac");
  analysis::AnalysisRecord f;
  f.provenance = {"render", 1, "", "x", "0.1.0", "whole stream", 0.0, "", ""};
  f.output.files["midi"] = {"audio/midi", "", dir / "made.bin"};
  w.analyses.push_back(f);
  auto id = (*s)->CommitTrack(w);
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_FALSE(std::filesystem::exists(dir / "made.bin"));
  const auto art = (*(*s)->GetTrack(*id))->artifacts.at(0);
  EXPECT_EQ(art.size, 8);
  EXPECT_EQ(ReadAll(*ArtifactFiles((*s)->artifact_dir()).PathOf(art.sha256)), "rendered");
}

}  // namespace
}  // namespace timbre::store
