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
    EXPECT_EQ((*s)->schema_version(), 3);
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
