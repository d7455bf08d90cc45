// Space indexes kept in step with a real SQLite store, and the playlists made from them.
#include "timbre/index/space_index.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <set>

#include "test_support.h"
#include "timbre/index/playlists.h"
#include "timbre/index/timbre_v1.h"

namespace timbre::index {
namespace {

using timbre::testing::TempDir;

// Tracks in `styles` clusters of descriptors; artist i % artists, album per style.
class SpaceIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenStore(db_path());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  std::string db_path() const { return (dir_ / "t.db").string(); }

  int64_t AddTrack(int i, int style, double duration = 180.0, int artists = 4) {
    std::mt19937 rng(static_cast<uint32_t>(i));
    std::normal_distribution<double> g(0.0, 0.05);
    store::TrackWrite w;
    w.track.key.path = "/lib/t" + std::to_string(i) + ".flac";
    w.track.key.size = 1;
    w.track.key.content_hash = "h" + std::to_string(i);
    w.track.key.status = store::TrackStatus::kOk;
    w.track.duration = duration;
    w.track.tags.artist = "artist" + std::to_string(i % artists);
    w.track.tags.album = "album" + std::to_string(style);
    w.track.album_key = "album" + std::to_string(style);
    analysis::AnalysisRecord spectral;
    spectral.provenance.analyzer = "spectral";
    for (const auto& f : TimbreV1Features()) {
      if (!f.source.starts_with("spectral.")) continue;
      const double base = 1.0 + style + 0.1 * static_cast<double>(f.source.size() % 7);
      spectral.output.numbers[f.source.substr(9)] = base + g(rng);
    }
    analysis::AnalysisRecord rhythm;
    rhythm.provenance.analyzer = "rhythm";
    rhythm.output.numbers = {{"bpm", 90.0 + 20.0 * style + g(rng)}, {"onset_rate", 2.0}};
    w.analyses = {spectral, rhythm};
    auto id = store_->CommitTrack(w);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    style_[*id] = style;
    return *id;
  }

  void AddLibrary(int tracks, int styles) {
    for (int i = 0; i < tracks; ++i) ids_.push_back(AddTrack(i, i % styles));
  }

  std::unique_ptr<SpaceIndex> Open(SyncReport* report = nullptr,
                                   SyncMode mode = SyncMode::kDeriveMissing) {
    auto space = SpaceIndex::Open(*store_, kTimbreV1Space, mode, {}, report);
    EXPECT_TRUE(space.ok()) << space.status().ToString();
    return space.ok() ? std::move(space).value() : nullptr;
  }

  TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::vector<int64_t> ids_;
  std::map<int64_t, int> style_;
};

TEST_F(SpaceIndexTest, BuildsOnceThenFollowsChanges) {
  AddLibrary(40, 4);
  SyncReport r;
  auto space = Open(&r);
  ASSERT_TRUE(space);
  EXPECT_TRUE(r.rebuilt);
  EXPECT_EQ(r.rebuild_reason, "no index yet");
  EXPECT_EQ(r.derived, 40u);
  EXPECT_EQ(r.vectors, 40u);
  EXPECT_TRUE(r.saved) << r.save_error;
  EXPECT_TRUE(std::filesystem::exists(SpaceIndexPath(*store_, kTimbreV1Space)));

  space = Open(&r);  // unchanged: read from the file, nothing derived or written
  EXPECT_FALSE(r.rebuilt);
  EXPECT_EQ(r.derived, 0u);
  EXPECT_FALSE(r.saved);
  EXPECT_EQ(r.vectors, 40u);

  ASSERT_TRUE(store_->MarkGone({ids_[3]}).ok());
  const int64_t added = AddTrack(100, 1);
  space = Open(&r);
  EXPECT_FALSE(r.rebuilt) << r.rebuild_reason;
  EXPECT_EQ(r.derived, 1u);
  EXPECT_EQ(r.applied, 2u);
  EXPECT_EQ(r.vectors, 40u);
  EXPECT_FALSE(space->Contains(ids_[3]));
  EXPECT_TRUE(space->Contains(added));
  auto near = space->Similar(added, 5);
  ASSERT_TRUE(near.ok());
  for (const auto& n : *near) EXPECT_EQ(style_[n.key], 1) << n.key;

  // A query follows the log but derives nothing; the next writer does.
  const int64_t later = AddTrack(101, 2);
  space = Open(&r, SyncMode::kReadOnly);
  EXPECT_EQ(r.derived, 0u);
  EXPECT_FALSE(space->Contains(later));
  space = Open(&r);
  EXPECT_EQ(r.derived, 1u);
  EXPECT_TRUE(space->Contains(later));
}

// A query reads the index file and follows the store in memory; it never writes a file, even
// when the file is behind the store or missing.
TEST_F(SpaceIndexTest, ReadOnlyOpensLeaveFilesAlone) {
  AddLibrary(20, 2);
  ASSERT_TRUE(Open());
  const auto path = SpaceIndexPath(*store_, kTimbreV1Space);
  auto bytes = [&] {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  };
  const std::string before = bytes();
  ASSERT_TRUE(store_->MarkGone({ids_[0]}).ok());
  SyncReport r;
  auto space = Open(&r, SyncMode::kReadOnly);
  ASSERT_TRUE(space);
  EXPECT_FALSE(space->Contains(ids_[0]));
  EXPECT_FALSE(r.saved);
  EXPECT_EQ(bytes(), before);
  std::filesystem::remove(path);
  space = Open(&r, SyncMode::kReadOnly);
  ASSERT_TRUE(space);
  EXPECT_TRUE(r.rebuilt);
  EXPECT_EQ(space->vectors().size(), 19u);
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(SpaceIndexTest, DamagedIndexFileIsRebuilt) {
  AddLibrary(12, 3);
  ASSERT_TRUE(Open());
  const auto path = SpaceIndexPath(*store_, kTimbreV1Space);
  std::ofstream(path, std::ios::trunc) << "not an index";
  SyncReport r;
  auto space = Open(&r);
  ASSERT_TRUE(space);
  EXPECT_TRUE(r.rebuilt);
  EXPECT_NE(r.rebuild_reason.find("unreadable"), std::string::npos) << r.rebuild_reason;
  EXPECT_EQ(space->vectors().size(), 12u);
}

TEST_F(SpaceIndexTest, IndexOfADeletedDatabaseIsNotReused) {
  AddLibrary(12, 3);
  ASSERT_TRUE(Open());
  // The database goes and a new one takes its path; the index folder stays behind. The new
  // store logs as many changes, so only the database's identity tells the two apart.
  store_.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db_path() + suffix);
  SetUp();
  style_.clear();
  ids_.clear();
  AddLibrary(12, 2);
  SyncReport r;
  auto space = Open(&r);
  ASSERT_TRUE(space);
  EXPECT_TRUE(r.rebuilt);
  EXPECT_EQ(r.rebuild_reason, "the index belongs to another database");
  for (int64_t id : ids_) {
    auto near = space->Similar(id, 3);
    ASSERT_TRUE(near.ok());
    for (const auto& n : *near) EXPECT_EQ(style_[n.key], style_[id]);
  }
}

TEST_F(SpaceIndexTest, UnwritableIndexFolderStillServes) {
  AddLibrary(10, 2);
  std::ofstream(store_->index_dir()) << "a file where the folder should be";
  SyncReport r;
  auto space = Open(&r);
  ASSERT_TRUE(space);
  EXPECT_FALSE(r.saved);
  EXPECT_FALSE(r.save_error.empty());
  EXPECT_EQ(space->vectors().size(), 10u);
}

TEST_F(SpaceIndexTest, NeighboursShareTheirStyle) {
  AddLibrary(60, 3);
  auto space = Open();
  ASSERT_TRUE(space);
  for (int64_t id : ids_) {
    auto near = space->Similar(id, 5);
    ASSERT_TRUE(near.ok());
    ASSERT_EQ(near->size(), 5u);
    for (const auto& n : *near) {
      EXPECT_NE(n.key, id);
      EXPECT_EQ(style_[n.key], style_[id]);
    }
  }
  auto missing = space->Similar(12345, 5);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST_F(SpaceIndexTest, SimilarFiltersBeforeSearching) {
  AddLibrary(60, 3);
  auto space = Open();
  ASSERT_TRUE(space);
  SimilarRequest req;
  req.seed = ids_[0];  // style 0, bpm ~90
  req.count = 8;
  // Only style-2 tracks (bpm ~130) pass: all are far from the seed, and all 8 come back.
  req.filter = *store::ParseFilter("bpm > 120");
  auto found = SimilarTracks(*store_, *space, req);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_EQ(found->size(), 8u);
  for (const auto& e : *found) EXPECT_EQ(style_[e.track.id], 2);

  req.filter = {};
  req.exclude_same_artist = true;
  req.exclude_same_album = true;
  found = SimilarTracks(*store_, *space, req);
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 8u);
  for (const auto& e : *found) {
    EXPECT_NE(e.track.artist, "artist0");
    EXPECT_NE(e.track.album_key, "album0");
    EXPECT_FALSE(e.track.path.empty());
  }
}

TEST_F(SpaceIndexTest, MixInterleavesSeedsWithoutRepeats) {
  AddLibrary(60, 3);
  auto space = Open();
  ASSERT_TRUE(space);
  MixRequest req;
  req.seeds = {ids_[0], ids_[1]};  // styles 0 and 1
  req.count = 12;
  req.artist_window = 2;
  auto mix = MixTracks(*store_, *space, req);
  ASSERT_TRUE(mix.ok()) << mix.status().ToString();
  ASSERT_EQ(mix->size(), 12u);
  std::set<int64_t> seen;
  for (size_t i = 0; i < mix->size(); ++i) {
    const auto& e = (*mix)[i];
    EXPECT_TRUE(seen.insert(e.track.id).second) << "repeated " << e.track.id;
    EXPECT_NE(e.track.id, ids_[0]);
    EXPECT_NE(e.track.id, ids_[1]);
    EXPECT_EQ(e.seed, req.seeds[i % 2]);  // interleaved
    EXPECT_EQ(style_[e.track.id], style_[e.seed]);
    for (size_t back = 1; back <= req.artist_window && back <= i; ++back) {
      EXPECT_NE(e.track.artist, (*mix)[i - back].track.artist) << "position " << i;
    }
  }
  req.max_duration = 180.0 * 5 + 1;
  mix = MixTracks(*store_, *space, req);
  ASSERT_TRUE(mix.ok());
  EXPECT_EQ(mix->size(), 5u);

  req.seeds = {};
  EXPECT_EQ(MixTracks(*store_, *space, req).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SpaceIndexTest, PathRunsFromOneEndToTheOther) {
  AddLibrary(60, 3);
  auto space = Open();
  ASSERT_TRUE(space);
  PathRequest req;
  req.from = ids_[0];  // style 0
  req.to = ids_[2];    // style 2
  req.steps = 6;
  auto path = PathTracks(*store_, *space, req);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  ASSERT_EQ(path->size(), 8u);
  EXPECT_EQ(path->front().track.id, req.from);
  EXPECT_EQ(path->back().track.id, req.to);
  std::set<int64_t> seen;
  for (const auto& e : *path) EXPECT_TRUE(seen.insert(e.track.id).second);
  // It passes through the middle style, and never goes back to an earlier one.
  int last = 0;
  bool middle = false;
  for (const auto& e : *path) {
    EXPECT_GE(style_[e.track.id], last);
    last = style_[e.track.id];
    middle = middle || last == 1;
  }
  EXPECT_TRUE(middle);
  req.to = req.from;
  EXPECT_EQ(PathTracks(*store_, *space, req).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace timbre::index
