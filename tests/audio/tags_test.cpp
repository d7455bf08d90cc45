#include "timbre/audio/tags.h"

#include <gtest/gtest.h>

#include <fstream>

#include "test_support.h"

namespace timbre::audio {
namespace {

using timbre::testing::MakeTone;
using timbre::testing::TempDir;

const char* kMetadata =
    "-metadata title='Blue in Green' -metadata artist='Miles Davis' -metadata album='Kind of "
    "Blue' -metadata album_artist='Miles Davis' -metadata track=3/5 -metadata disc=1/1 "
    "-metadata date=1959-08-17 -metadata genre=Jazz "
    "-metadata MUSICBRAINZ_TRACKID=0b9c4a05-1b2c-4b8f-9a7e-111111111111 "
    "-metadata MUSICBRAINZ_ALBUMID=8e0b2b2e-6a39-4a35-9c8f-222222222222";

class TagFormatTest : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(TagFormatTest, ReadsCommonFields) {
  TempDir dir;
  const auto path = dir / GetParam().first;
  MakeTone(path, 1.0, 440, -6, 2, 44100, std::string(GetParam().second) + " " + kMetadata);
  FileTags t = ReadFileTags(path);
  EXPECT_EQ(t.title, "Blue in Green");
  EXPECT_EQ(t.artist, "Miles Davis");
  EXPECT_EQ(t.album, "Kind of Blue");
  EXPECT_EQ(t.album_artist, "Miles Davis");
  EXPECT_EQ(t.track_number, 3);
  EXPECT_EQ(t.year, 1959);
  EXPECT_EQ(t.genre, "Jazz");
  EXPECT_FALSE(t.empty());
}

INSTANTIATE_TEST_SUITE_P(Formats, TagFormatTest,
                         ::testing::Values(std::make_pair("t.flac", "-c:a flac"),
                                           std::make_pair("t.mp3",
                                                          "-c:a libmp3lame -id3v2_version 4"),
                                           std::make_pair("t.ogg", "-c:a libvorbis"),
                                           std::make_pair("t.m4a", "-c:a aac")));

TEST(TagsTest, VorbisCommentsCarryMusicBrainzIds) {
  TempDir dir;
  MakeTone(dir / "t.flac", 1.0, 440, -6, 2, 44100, std::string("-c:a flac ") + kMetadata);
  FileTags t = ReadFileTags(dir / "t.flac");
  EXPECT_EQ(t.musicbrainz_track_id, "0b9c4a05-1b2c-4b8f-9a7e-111111111111");
  EXPECT_EQ(t.musicbrainz_album_id, "8e0b2b2e-6a39-4a35-9c8f-222222222222");
  EXPECT_EQ(t.disc_number, 1);
}

TEST(TagsTest, UntaggedAndNonAudioFilesGiveEmptyTags) {
  TempDir dir;
  MakeTone(dir / "plain.wav", 0.5);
  EXPECT_TRUE(ReadFileTags(dir / "plain.wav").empty());
  std::ofstream(dir / "text.mp3") << "not audio";
  EXPECT_TRUE(ReadFileTags(dir / "text.mp3").empty());
  EXPECT_TRUE(ReadFileTags(dir / "missing.flac").empty());
}

}  // namespace
}  // namespace timbre::audio
