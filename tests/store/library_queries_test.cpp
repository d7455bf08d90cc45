// Filters, embeddings and the change log on a real SQLite store.
#include <gtest/gtest.h>

#include <cmath>

#include "test_support.h"
#include "timbre/store/filter.h"
#include "timbre/store/store.h"

namespace timbre::store {
namespace {

using timbre::testing::TempDir;

// A track with tags, a BPM, a key and a spectral output.
TrackWrite Track(const std::string& path, const std::string& artist, double bpm,
                 const std::string& key, double duration) {
  TrackWrite w;
  w.track.key.path = path;
  w.track.key.size = 100;
  w.track.key.content_hash = "h" + path;
  w.track.key.status = TrackStatus::kOk;
  w.track.duration = duration;
  w.track.tags.artist = artist;
  w.track.tags.title = "T " + path;
  analysis::AnalysisRecord rhythm;
  rhythm.provenance.analyzer = "rhythm";
  rhythm.output.numbers = {{"bpm", bpm}};
  w.analyses.push_back(rhythm);
  analysis::AnalysisRecord tonal;
  tonal.provenance.analyzer = "tonal";
  if (!key.empty()) tonal.output.texts = {{"key", key}};
  w.analyses.push_back(tonal);
  analysis::AnalysisRecord spectral;
  spectral.provenance.analyzer = "spectral";
  spectral.output.numbers = {{"centroid_mean", bpm * 10}};
  w.analyses.push_back(spectral);
  return w;
}

class LibraryQueriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = OpenStore((dir_ / "t.db").string());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    a_ = Commit(Track("/m/a.flac", "Alpha", 120, "A minor", 200));
    b_ = Commit(Track("/m/b.flac", "Beta", 128, "C major", 300));
    c_ = Commit(Track("/m/c.flac", "alpha", 90, "", 100));
  }
  int64_t Commit(const TrackWrite& w) {
    auto id = store_->CommitTrack(w);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : -1;
  }
  std::vector<int64_t> Select(const std::string& where) {
    auto f = ParseFilter(where);
    EXPECT_TRUE(f.ok()) << where << ": " << f.status().ToString();
    if (!f.ok()) return {};
    auto ids = store_->SelectTracks(*f);
    EXPECT_TRUE(ids.ok()) << ids.status().ToString();
    return ids.ok() ? *ids : std::vector<int64_t>{};
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  int64_t a_ = 0, b_ = 0, c_ = 0;
};

TEST(FilterTest, ParsesFieldsOperatorsAndValues) {
  auto f = ParseFilter("bpm >= 120 and key = 'A minor' and artist~alp and spectral.x < 3");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->conditions.size(), 4u);
  EXPECT_EQ(f->conditions[0].target, FilterCondition::Target::kDescriptor);
  EXPECT_EQ(f->conditions[0].analyzer, "rhythm");
  EXPECT_EQ(f->conditions[0].op, FilterOp::kGe);
  EXPECT_EQ(std::get<double>(f->conditions[0].value), 120.0);
  EXPECT_EQ(f->conditions[1].target, FilterCondition::Target::kText);
  EXPECT_EQ(std::get<std::string>(f->conditions[1].value), "A minor");
  EXPECT_EQ(f->conditions[2].op, FilterOp::kContains);
  EXPECT_EQ(f->conditions[3].analyzer, "spectral");
  EXPECT_TRUE(ParseFilter("").ok());
  EXPECT_TRUE(ParseFilter("  ")->empty());
}

TEST(FilterTest, RejectsMalformedFilters) {
  for (const char* bad :
       {"bpm", "bpm >", "bpm = fast", "colour = red", "key < 'A minor'", "artist = 'unclosed",
        "bpm > 1 or bpm < 2", "duration ~ 3", "tag > x", "bpm >= 1e999", "= 3"}) {
    auto f = ParseFilter(bad);
    EXPECT_FALSE(f.ok()) << bad;
    if (!f.ok()) {
      EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument) << bad;
      EXPECT_FALSE(f.status().message().empty());
    }
  }
}

TEST_F(LibraryQueriesTest, SelectsByColumnsDescriptorsAndTexts) {
  EXPECT_EQ(Select(""), (std::vector<int64_t>{a_, b_, c_}));
  EXPECT_EQ(Select("bpm >= 120"), (std::vector<int64_t>{a_, b_}));
  EXPECT_EQ(Select("bpm > 100 and bpm < 125"), (std::vector<int64_t>{a_}));
  EXPECT_EQ(Select("key = 'a minor'"), (std::vector<int64_t>{a_}));  // case-insensitive
  // A track with no key is "not A minor".
  EXPECT_EQ(Select("key != 'A minor'"), (std::vector<int64_t>{b_, c_}));
  EXPECT_EQ(Select("artist = alpha"), (std::vector<int64_t>{a_, c_}));
  EXPECT_EQ(Select("artist ~ ET"), (std::vector<int64_t>{b_}));
  EXPECT_EQ(Select("path !~ b.flac"), (std::vector<int64_t>{a_, c_}));
  EXPECT_EQ(Select("duration <= 200"), (std::vector<int64_t>{a_, c_}));
  EXPECT_EQ(Select("spectral.centroid_mean = 1280"), (std::vector<int64_t>{b_}));
  EXPECT_TRUE(Select("tag = nom:x").empty());
  // Values are bound, never spliced into SQL.
  EXPECT_TRUE(Select("artist = \"x' OR '1'='1\"").empty());
}

TEST_F(LibraryQueriesTest, GoneTracksAreNeverSelected) {
  ASSERT_TRUE(store_->MarkGone({b_}).ok());
  EXPECT_EQ(Select("bpm >= 120"), (std::vector<int64_t>{a_}));
}

TEST_F(LibraryQueriesTest, SummariesKeepTheOrderAsked) {
  auto s = store_->Summaries({c_, 999, a_});
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->size(), 2u);
  EXPECT_EQ((*s)[0].id, c_);
  EXPECT_EQ((*s)[0].artist, "alpha");
  EXPECT_FALSE((*s)[0].key.size());
  EXPECT_EQ((*s)[1].id, a_);
  ASSERT_TRUE((*s)[1].bpm.has_value());
  EXPECT_DOUBLE_EQ(*(*s)[1].bpm, 120.0);
  EXPECT_EQ((*s)[1].key, "A minor");
  EXPECT_DOUBLE_EQ((*s)[1].duration, 200.0);
}

TEST_F(LibraryQueriesTest, EmbeddingsRoundTripAndFollowTheirAnalysis) {
  auto missing = store_->NumbersOfTracksWithout("space");
  ASSERT_TRUE(missing.ok());
  ASSERT_EQ(missing->size(), 3u);
  EXPECT_DOUBLE_EQ((*missing)[0].numbers.at("rhythm.bpm"), 120.0);
  EXPECT_DOUBLE_EQ((*missing)[0].numbers.at("spectral.centroid_mean"), 1200.0);

  ASSERT_TRUE(store_
                  ->PutEmbeddings({{a_, "space", "spectral", {1.0f, 2.0f, 3.0f}},
                                   {b_, "space", "spectral", {4.0f, 5.0f, 6.0f}}})
                  .ok());
  auto all = store_->LoadEmbeddings("space");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].vector, (std::vector<float>{4.0f, 5.0f, 6.0f}));
  EXPECT_EQ(store_->NumbersOfTracksWithout("space")->size(), 1u);
  const std::vector<int64_t> only = {b_, c_};
  auto some = store_->LoadEmbeddings("space", &only);
  ASSERT_TRUE(some.ok());
  ASSERT_EQ(some->size(), 1u);
  EXPECT_EQ((*some)[0].track_id, b_);

  // Re-analysing a track replaces its analyses, and the vector made from them goes too.
  auto before = store_->LastChange();
  ASSERT_TRUE(before.ok());
  Commit(Track("/m/a.flac", "Alpha", 121, "A minor", 200));
  EXPECT_EQ(store_->LoadEmbeddings("space")->size(), 1u);
  auto changed = store_->TracksChangedSince(*before);
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(*changed, (std::vector<int64_t>{a_}));
}

TEST_F(LibraryQueriesTest, StatusChangesAreLogged) {
  auto start = store_->LastChange();
  ASSERT_TRUE(start.ok());
  ASSERT_TRUE(store_->MarkGone({c_}).ok());
  auto changed = store_->TracksChangedSince(*start);
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(*changed, (std::vector<int64_t>{c_}));
  auto after_gone = store_->LastChange();
  ASSERT_TRUE(after_gone.ok());
  EXPECT_GT(*after_gone, *start);
  ASSERT_TRUE(store_->MoveTrack(c_, "/m/c2.flac", 100, 1).ok());  // back: ok again
  EXPECT_EQ(*store_->TracksChangedSince(*after_gone), (std::vector<int64_t>{c_}));
  EXPECT_TRUE(store_->TracksChangedSince(*store_->LastChange())->empty());
}

TEST_F(LibraryQueriesTest, TextOutputsListOkTracksOnly) {
  ASSERT_TRUE(store_->MarkGone({b_}).ok());
  auto keys = store_->TextOutputs("tonal", "key");
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].track_id, a_);
  EXPECT_EQ((*keys)[0].value, "A minor");
}

}  // namespace
}  // namespace timbre::store
