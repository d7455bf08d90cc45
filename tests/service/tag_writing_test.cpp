// Key notations, tag groups and nom: names, against published tables.
#include "timbre/service/tag_writing.h"

#include <gtest/gtest.h>

namespace timbre::service {
namespace {

TEST(TagWritingTest, KeysInEveryNotation) {
  struct Case {
    int tonic;
    bool minor;
    const char* standard;
    const char* camelot;
    const char* openkey;
  };
  // Mixed In Key's Camelot wheel and Beatunes' Open Key, one row per circle position checked.
  const Case cases[] = {
      {0, false, "C", "8B", "1d"},   {9, true, "Am", "8A", "1m"},  {7, false, "G", "9B", "2d"},
      {4, true, "Em", "9A", "2m"},   {6, false, "F#", "2B", "7d"}, {3, true, "Ebm", "2A", "7m"},
      {5, false, "F", "7B", "12d"},  {2, true, "Dm", "7A", "12m"}, {10, false, "Bb", "6B", "11d"},
      {1, true, "Dbm", "12A", "5m"}, {11, false, "B", "1B", "6d"}, {8, true, "Abm", "1A", "6m"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(FormatKey(c.tonic, c.minor, KeyNotation::kStandard), c.standard);
    EXPECT_EQ(FormatKey(c.tonic, c.minor, KeyNotation::kCamelot), c.camelot) << c.standard;
    EXPECT_EQ(FormatKey(c.tonic, c.minor, KeyNotation::kOpenKey), c.openkey) << c.standard;
  }
}

TEST(TagWritingTest, GroupsAndNotationsParseOrFailClearly) {
  EXPECT_EQ(*ParseTagGroups("bpm, key"), unsigned{kTagBpm | kTagKey});
  EXPECT_EQ(*ParseTagGroups("bpm,key,replaygain,nom"), unsigned{kAllTagGroups});
  EXPECT_NE(ParseTagGroups("bpm,mood").status().message().find("'mood'"), std::string::npos);
  EXPECT_FALSE(ParseTagGroups("").ok());
  EXPECT_FALSE(ParseTagGroups(" , ").ok());
  EXPECT_EQ(*ParseKeyNotation("camelot"), KeyNotation::kCamelot);
  EXPECT_FALSE(ParseKeyNotation("Camelot ").ok());
}

TEST(TagWritingTest, NomNamesKeepTheirSixParts) {
  analysis::Provenance p;
  p.analyzer = "album_loudness";
  p.analyzer_version = 2;
  p.engine_version = "1.2.3";
  EXPECT_EQ(NomTagName(p, "replaygain_album_gain"),
            "nom:timbre_dsp_1-2-3_album-loudness_v2_replaygain_album_gain");
}

}  // namespace
}  // namespace timbre::service
