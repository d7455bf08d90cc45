// From per-patch label scores to what a track is tagged with (docs/models.md, "Tiers"): each
// label's mean, spread and margin over the opposing score, the tier those reach, and the
// removal of contradictory labels.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "timbre/models/manifest.h"
#include "timbre/models/runtime.h"

namespace timbre::models {

enum class Tier { kNone, kLow, kMedium, kHigh };
std::string_view TierName(Tier t);  // "", "low", "medium", "high"

// Applies the manifest's activation to every row of raw model output, in place.
void Activate(Activation activation, Matrix* scores);

// Sums of each label's scores over a track's patches, added to batch by batch.
class LabelAccumulator {
 public:
  explicit LabelAccumulator(size_t labels) : sum_(labels, 0.0), sum_sq_(labels, 0.0) {}
  void Add(const Matrix& scores);
  size_t patches() const { return patches_; }
  double mean(size_t label) const;
  double spread(size_t label) const;  // population standard deviation

 private:
  std::vector<double> sum_;
  std::vector<double> sum_sq_;
  size_t patches_ = 0;
};

struct LabelScore {
  std::string label;
  double mean = 0.0;
  double spread = 0.0;
  double margin = 0.0;  // mean minus the opposing score's mean
  Tier tier = Tier::kNone;
  bool taggable = true;  // listed in tiers.labels (or none listed)
};

// Scores every label of one head or classifier, with its tier.
std::vector<LabelScore> ScoreLabels(const Manifest& model, const LabelAccumulator& acc);

// Among labels of several heads (each with its manifest's `contradicts` pairs), clears the
// tier of the weaker of two contradictory tiered labels: lower tier, then lower mean.
struct ScoredHead {
  const Manifest* model = nullptr;
  std::vector<LabelScore> labels;
};
void ResolveContradictions(std::vector<ScoredHead>& heads);

}  // namespace timbre::models
