#include "timbre/analysis/evaluation.h"

#include <gtest/gtest.h>

namespace timbre::analysis {
namespace {

TEST(EvaluationTest, TempoAccuracies) {
  EXPECT_TRUE(TempoAccuracy1(124.0, 120.0));   // 3.3 %
  EXPECT_FALSE(TempoAccuracy1(125.0, 120.0));  // 4.2 %
  EXPECT_FALSE(TempoAccuracy1(60.0, 120.0));
  EXPECT_TRUE(TempoAccuracy2(60.0, 120.0));
  EXPECT_TRUE(TempoAccuracy2(360.0, 120.0));
  EXPECT_FALSE(TempoAccuracy2(80.0, 120.0));  // 2/3 is not an allowed octave
  EXPECT_FALSE(TempoAccuracy1(120.0, 0.0));
}

TEST(EvaluationTest, ParsesKeyNames) {
  auto k = ParseKey("Eb minor");
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(k->tonic, 3);
  EXPECT_TRUE(k->minor);
  EXPECT_EQ(ParseKey("C# major")->tonic, 1);
  EXPECT_EQ(ParseKey("a min")->tonic, 9);
  EXPECT_TRUE(ParseKey("Bbm")->minor);
  EXPECT_FALSE(ParseKey("H major").has_value());
  EXPECT_FALSE(ParseKey("C dorian").has_value());
  EXPECT_FALSE(ParseKey("").has_value());
}

TEST(EvaluationTest, MirexWeights) {
  const Key c{0, false}, g{7, false}, f{5, false}, am{9, true}, cm{0, true}, d{2, false};
  EXPECT_EQ(MirexKeyScore(c, c), 1.0);
  EXPECT_EQ(MirexKeyScore(g, c), 0.5);
  EXPECT_EQ(MirexKeyScore(f, c), 0.5);
  EXPECT_EQ(MirexKeyScore(am, c), 0.3);  // relative minor
  EXPECT_EQ(MirexKeyScore(c, am), 0.3);  // relative major
  EXPECT_EQ(MirexKeyScore(cm, c), 0.2);  // parallel
  EXPECT_EQ(MirexKeyScore(d, c), 0.0);
}

}  // namespace
}  // namespace timbre::analysis
