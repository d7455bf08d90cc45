#include <sys/time.h>

#include <gtest/gtest.h>

#include <fstream>

#include "scan_fixture.h"

namespace timbre::service {
namespace {

using timbre::testing::MakeTone;

TEST_F(ScanFixture, FirstScanAddsThenRescanIsANoOp) {
  MakeTone(lib() / "a.flac", 3, 440, -10, 2, 44100, "-c:a flac");
  MakeTone(lib() / "b.mp3", 3, 660, -20, 2, 44100, "-c:a libmp3lame");
  std::ofstream(lib() / "cover.jpg") << "not scanned: not audio by name";
  ScanSummary first = Scan();
  EXPECT_EQ(first.files, 2u);
  EXPECT_EQ(first.added, 2u);
  EXPECT_EQ(first.failed, 0u);
  const std::string updated_at = Track(lib() / "a.flac").track.updated_at;

  Recorder rec;
  ScanSummary second = Scan(&rec);
  EXPECT_EQ(second.unchanged, 2u);
  EXPECT_EQ(second.added + second.updated + second.moved + second.failed + second.gone, 0u);
  EXPECT_EQ(second.audio_seconds, 0.0);                             // nothing decoded
  EXPECT_EQ(Track(lib() / "a.flac").track.updated_at, updated_at);  // nothing written
  EXPECT_EQ(rec.events.size(), 2u);
}

TEST_F(ScanFixture, ChangedFileIsReanalysed) {
  MakeTone(lib() / "a.flac", 3, 440, -10, 2, 44100, "-c:a flac");
  Scan();
  MakeTone(lib() / "a.flac", 3, 440, -30, 2, 44100, "-c:a flac");
  struct timeval later[2] = {{2000000000, 0}, {2000000000, 0}};  // a distinct mtime
  utimes((lib() / "a.flac").c_str(), later);
  ScanSummary s = Scan();
  EXPECT_EQ(s.updated, 1u);
  const auto t = Track(lib() / "a.flac");
  double integrated = 0;
  for (const auto& d : t.descriptors) {
    if (d.analyzer == "loudness" && d.name == "integrated") integrated = d.value;
  }
  // A stereo sine's loudness is its peak level (-3 dB RMS, +3 dB for two channels).
  EXPECT_NEAR(integrated, -30.0, 0.7);
}

TEST_F(ScanFixture, TouchedButIdenticalFileKeepsItsResults) {
  MakeTone(lib() / "a.flac", 2, 440, -10, 2, 44100, "-c:a flac");
  Scan();
  struct timeval later[2] = {{2000000000, 0}, {2000000000, 0}};
  utimes((lib() / "a.flac").c_str(), later);
  Recorder rec;
  ScanSummary s = Scan(&rec);
  EXPECT_EQ(s.unchanged, 1u);
  EXPECT_EQ(s.audio_seconds, 0.0);
  EXPECT_EQ(Track(lib() / "a.flac").track.key.mtime_ns, 2000000000LL * 1000000000LL);
}

TEST_F(ScanFixture, MovedFileKeepsItsIdAndResults) {
  MakeTone(lib() / "a.flac", 2, 440, -10, 2, 44100, "-c:a flac");
  Scan();
  const auto before = Track(lib() / "a.flac");
  std::filesystem::create_directories(lib() / "sorted");
  std::filesystem::rename(lib() / "a.flac", lib() / "sorted" / "renamed.flac");
  Recorder rec;
  ScanSummary s = Scan(&rec);
  EXPECT_EQ(s.moved, 1u);
  EXPECT_EQ(s.gone, 0u);
  EXPECT_EQ(s.audio_seconds, 0.0);  // not decoded again
  const auto after = Track(lib() / "sorted" / "renamed.flac");
  EXPECT_EQ(after.track.key.id, before.track.key.id);
  EXPECT_EQ(after.analyses.size(), before.analyses.size());
  EXPECT_EQ(after.descriptors.size(), before.descriptors.size());
  EXPECT_EQ(rec.events[(lib() / "sorted" / "renamed.flac").string()].moved_from,
            (lib() / "a.flac").string());
  EXPECT_FALSE(store_->FindTrackId((lib() / "a.flac").string())->has_value());
}

TEST_F(ScanFixture, CopiesOfAMovedFileDoNotShareATrack) {
  MakeTone(lib() / "a.flac", 2, 440, -10, 2, 44100, "-c:a flac");
  Scan();
  std::filesystem::copy_file(lib() / "a.flac", lib() / "copy1.flac");
  std::filesystem::rename(lib() / "a.flac", lib() / "copy2.flac");
  ScanSummary s = Scan();
  EXPECT_EQ(s.moved, 1u);
  EXPECT_EQ(s.added, 1u);
  EXPECT_NE(Track(lib() / "copy1.flac").track.key.id, Track(lib() / "copy2.flac").track.key.id);
}

TEST_F(ScanFixture, DeletedFileIsMarkedGone) {
  MakeTone(lib() / "a.flac", 2, 440, -10, 2, 44100, "-c:a flac");
  MakeTone(lib() / "b.flac", 2, 550, -10, 2, 44100, "-c:a flac");
  Scan();
  std::filesystem::remove(lib() / "b.flac");
  ScanSummary s = Scan();
  EXPECT_EQ(s.gone, 1u);
  EXPECT_EQ(s.unchanged, 1u);
  EXPECT_EQ(Track(lib() / "b.flac").track.key.status, store::TrackStatus::kGone);
  EXPECT_EQ(Scan().gone, 0u);  // counted once
}

TEST_F(ScanFixture, AnotherRootsTracksAreNotGone) {
  MakeTone(lib() / "a.flac", 2, 440, -10, 2, 44100, "-c:a flac");
  Scan();
  std::filesystem::create_directories(dir_ / "other");
  MakeTone(dir_ / "other" / "b.flac", 2, 440, -10, 2, 44100, "-c:a flac");
  ScanOptions options;
  options.roots = {dir_ / "other"};
  Recorder rec;
  auto r = ScanLibrary(*store_, *pipeline_, pool_, options, &rec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->gone, 0u);
  EXPECT_EQ(Track(lib() / "a.flac").track.key.status, store::TrackStatus::kOk);
}

TEST_F(ScanFixture, AlbumGainCoversTheWholeAlbum) {
  const std::string album = "-metadata album=Duo -metadata album_artist=Both ";
  MakeTone(lib() / "1.flac", 6, 440, -10, 2, 44100, album + "-c:a flac");
  MakeTone(lib() / "2.flac", 6, 440, -30, 2, 44100, album + "-c:a flac");
  MakeTone(lib() / "single.flac", 6, 440, -10, 2, 44100, "-c:a flac");
  ScanSummary s = Scan();
  EXPECT_EQ(s.albums_updated, 1u);
  auto value = [&](const char* file, const char* analyzer, const char* name) {
    for (const auto& d : Track(lib() / file).descriptors) {
      if (d.analyzer == analyzer && d.name == name) return d.value;
    }
    ADD_FAILURE() << file << " has no " << analyzer << "." << name;
    return 0.0;
  };
  const double g1 = value("1.flac", "album_loudness", "replaygain_album_gain");
  EXPECT_EQ(g1, value("2.flac", "album_loudness", "replaygain_album_gain"));
  // The quiet track falls under the relative gate: album loudness is the loud track's.
  EXPECT_NEAR(g1, value("1.flac", "loudness", "replaygain_track_gain"), 0.1);
  EXPECT_NEAR(value("2.flac", "album_loudness", "replaygain_album_peak"),
              value("1.flac", "loudness", "true_peak"), 1e-9);
  for (const auto& a : Track(lib() / "single.flac").analyses) {
    EXPECT_NE(a.provenance.analyzer, "album_loudness");
  }
  EXPECT_EQ(Scan().albums_updated, 0u);  // nothing changed
  std::filesystem::remove(lib() / "2.flac");
  EXPECT_EQ(Scan().albums_updated, 1u);  // a member left
}

TEST_F(ScanFixture, SymlinkLoopsAndHiddenEntries) {
  MakeTone(lib() / "a.flac", 1, 440, -10, 2, 44100, "-c:a flac");
  std::filesystem::create_directory_symlink(lib(), lib() / "loop");
  std::filesystem::create_directories(lib() / ".hidden");
  MakeTone(lib() / ".hidden" / "b.flac", 1, 440, -10, 2, 44100, "-c:a flac");
  std::filesystem::create_symlink(lib() / "a.flac", lib() / "alias.flac");
  ScanSummary s = Scan();
  EXPECT_EQ(s.files, 1u);  // the loop, the hidden folder and the second name add nothing
}

TEST_F(ScanFixture, MissingRootIsAnError) {
  ScanOptions options;
  options.roots = {dir_ / "does-not-exist"};
  auto r = ScanLibrary(*store_, *pipeline_, pool_, options, nullptr);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  options.roots = {};
  EXPECT_EQ(ScanLibrary(*store_, *pipeline_, pool_, options, nullptr).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(WalkTest, AudioExtensionsAreCaseInsensitive) {
  EXPECT_TRUE(HasAudioExtension("a/B.FLAC"));
  EXPECT_TRUE(HasAudioExtension("x.Opus"));
  EXPECT_FALSE(HasAudioExtension("cover.jpg"));
  EXPECT_FALSE(HasAudioExtension("README"));
  EXPECT_FALSE(HasAudioExtension(".mp3x"));
}

TEST(AlbumKeyTest, GroupsByAlbumAndFolder) {
  audio::FileTags t;
  EXPECT_EQ(AlbumKey(t, "/m/x.flac"), "");
  t.album = "A";
  EXPECT_EQ(AlbumKey(t, "/m/x.flac"), AlbumKey(t, "/m/y.flac"));
  EXPECT_NE(AlbumKey(t, "/m/x.flac"), AlbumKey(t, "/n/x.flac"));
  audio::FileTags other = t;
  other.album_artist = "Z";  // a WAV beside FLACs of the same album stays in it
  EXPECT_EQ(AlbumKey(t, "/m/x.wav"), AlbumKey(other, "/m/y.flac"));
  other.album = "B";
  EXPECT_NE(AlbumKey(t, "/m/x.flac"), AlbumKey(other, "/m/y.flac"));
}

}  // namespace
}  // namespace timbre::service
