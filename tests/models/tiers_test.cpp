// Tiers: probability, margin and spread thresholds, activations, and contradictions.
#include "timbre/models/tiers.h"

#include <gtest/gtest.h>

#include <cmath>

namespace timbre::models {
namespace {

Manifest Binary(const std::string& label, const std::string& other) {
  Manifest m;
  m.kind = ModelKind::kHead;
  m.labels = {label, other};
  m.tiers.labels = {label};
  return m;
}

LabelAccumulator Scores(std::initializer_list<std::pair<float, float>> rows) {
  Matrix m;
  m.cols = 2;
  for (auto [a, b] : rows) {
    m.values.push_back(a);
    m.values.push_back(b);
    ++m.rows;
  }
  LabelAccumulator acc(2);
  acc.Add(m);
  return acc;
}

TEST(Tiers, SteadyConfidentLabelIsHigh) {
  const Manifest m = Binary("aggressive", "not_aggressive");
  auto s = ScoreLabels(m, Scores({{0.9f, 0.1f}, {0.92f, 0.08f}, {0.88f, 0.12f}}));
  ASSERT_EQ(s.size(), 2u);
  EXPECT_NEAR(s[0].mean, 0.9, 1e-6);
  EXPECT_NEAR(s[0].margin, 0.8, 1e-6);
  EXPECT_LT(s[0].spread, 0.02);
  EXPECT_EQ(s[0].tier, Tier::kHigh);
  EXPECT_EQ(s[1].tier, Tier::kNone);  // not listed in tiers.labels
  EXPECT_FALSE(s[1].taggable);
}

TEST(Tiers, SpreadAcrossTheTrackLowersTheTier) {
  const Manifest m = Binary("aggressive", "not_aggressive");
  // Mean 0.8, but half the track says 0.6 and half 1.0: spread 0.2.
  auto s = ScoreLabels(m, Scores({{1.0f, 0.0f}, {0.6f, 0.4f}, {1.0f, 0.0f}, {0.6f, 0.4f}}));
  EXPECT_NEAR(s[0].spread, 0.2, 1e-6);
  EXPECT_EQ(s[0].tier, Tier::kMedium);
  // A coin toss is no tier at all.
  s = ScoreLabels(m, Scores({{0.52f, 0.48f}}));
  EXPECT_EQ(s[0].tier, Tier::kNone);
  s = ScoreLabels(m, Scores({{0.55f, 0.45f}}));
  EXPECT_EQ(s[0].tier, Tier::kLow);
}

TEST(Tiers, MultilabelMarginIsAgainstTheLabelsOwnComplement) {
  Manifest m;
  m.labels = {"rock", "pop", "jazz"};
  m.tiers.multilabel = true;
  Matrix scores{1, 3, {0.8f, 0.9f, 0.1f}};
  LabelAccumulator acc(3);
  acc.Add(scores);
  auto s = ScoreLabels(m, acc);
  EXPECT_NEAR(s[0].margin, 0.6, 1e-6);  // 0.8 − (1 − 0.8), not 0.8 − 0.9
  EXPECT_EQ(s[0].tier, Tier::kHigh);
  m.tiers.multilabel = false;
  s = ScoreLabels(m, acc);
  EXPECT_NEAR(s[0].margin, -0.1, 1e-6);
  EXPECT_EQ(s[0].tier, Tier::kNone);
}

TEST(Tiers, ContradictoryLabelsKeepOnlyTheStronger) {
  Manifest aggressive = Binary("aggressive", "not_aggressive");
  aggressive.tiers.contradicts = {{"aggressive", "relaxed"}};
  Manifest relaxed = Binary("relaxed", "not_relaxed");
  std::vector<ScoredHead> heads{
      {&aggressive, ScoreLabels(aggressive, Scores({{0.7f, 0.3f}}))},
      {&relaxed, ScoreLabels(relaxed, Scores({{0.9f, 0.1f}}))},
  };
  ASSERT_EQ(heads[0].labels[0].tier, Tier::kMedium);
  ASSERT_EQ(heads[1].labels[0].tier, Tier::kHigh);
  ResolveContradictions(heads);
  EXPECT_EQ(heads[0].labels[0].tier, Tier::kNone);
  EXPECT_EQ(heads[1].labels[0].tier, Tier::kHigh);
}

TEST(Tiers, ActivationsGiveProbabilities) {
  Matrix m{2, 3, {1000.0f, 0.0f, -1000.0f, 0.0f, 0.0f, 0.0f}};
  Activate(Activation::kSoftmax, &m);
  EXPECT_NEAR(m.values[0], 1.0f, 1e-6);  // no overflow from large logits
  EXPECT_NEAR(m.values[3] + m.values[4] + m.values[5], 1.0f, 1e-6);
  Matrix s{1, 2, {0.0f, 2.0f}};
  Activate(Activation::kSigmoid, &s);
  EXPECT_NEAR(s.values[0], 0.5f, 1e-6);
  EXPECT_NEAR(s.values[1], 1.0f / (1.0f + std::exp(-2.0f)), 1e-6);
}

TEST(Tiers, NoPatchesMeansNoTier) {
  const Manifest m = Binary("aggressive", "not_aggressive");
  LabelAccumulator empty(2);
  auto s = ScoreLabels(m, empty);
  EXPECT_EQ(s[0].tier, Tier::kNone);
  EXPECT_EQ(s[0].mean, 0.0);
}

}  // namespace
}  // namespace timbre::models
