#include "timbre/core/paths.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace timbre {
namespace {

TEST(PathsTest, DataDirFollowsXdg) {
  setenv("XDG_DATA_HOME", "/srv/data", 1);
  EXPECT_EQ(DefaultDataDir(), std::filesystem::path("/srv/data/timbre"));
  setenv("XDG_DATA_HOME", "", 1);
  setenv("HOME", "/home/someone", 1);
  EXPECT_EQ(DefaultDataDir(), std::filesystem::path("/home/someone/.local/share/timbre"));
  unsetenv("XDG_DATA_HOME");
}

TEST(PathsTest, SanitizeKeepsValidUtf8) {
  EXPECT_EQ(SanitizeUtf8("Sigur Rós — Hoppípolla 🎵"), "Sigur Rós — Hoppípolla 🎵");
}

TEST(PathsTest, SanitizeReplacesInvalidBytes) {
  EXPECT_EQ(SanitizeUtf8("caf\xe9.mp3"), "caf\xEF\xBF\xBD.mp3");                    // Latin-1 é
  EXPECT_EQ(SanitizeUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong '/'
  EXPECT_EQ(SanitizeUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(SanitizeUtf8("end\xE2\x82"), "end\xEF\xBF\xBD\xEF\xBF\xBD");            // cut sequence
}

}  // namespace
}  // namespace timbre
