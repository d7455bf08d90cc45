#include "timbre/core/hash.h"

#include <gtest/gtest.h>

#include <fstream>

#include "test_support.h"

namespace timbre {
namespace {

TEST(HashTest, SameBytesSameHash) {
  testing::TempDir dir;
  std::string big(3 << 20, 'x');  // spans several read chunks
  big[12345] = 'y';
  std::ofstream(dir / "a") << big;
  std::ofstream(dir / "b") << big;
  big[2 << 20] = 'z';
  std::ofstream(dir / "c") << big;
  auto a = HashFileContent(dir / "a");
  auto b = HashFileContent(dir / "b");
  auto c = HashFileContent(dir / "c");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
}

TEST(HashTest, StringHashIsStableAndDistinct) {
  EXPECT_EQ(HashString("max_seconds=120"), HashString("max_seconds=120"));
  EXPECT_NE(HashString("max_seconds=120"), HashString("max_seconds=121"));
  // The empty input's XXH3-128 is fixed by the algorithm.
  EXPECT_EQ(HashString(""), "99aa06d3014798d86001c324468d497f");
}

TEST(HashTest, MissingFileIsAnError) {
  auto r = HashFileContent("/nonexistent/file.flac");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "vanished");
}

}  // namespace
}  // namespace timbre
