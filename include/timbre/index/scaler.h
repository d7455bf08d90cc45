// Per-library normalisation of raw feature vectors, so that no feature dominates a distance
// by its unit or range: each feature is centred on the library's median, divided by a robust
// spread (1.4826 × median absolute deviation, else the standard deviation, else 1), clipped to
// ±kClip spreads, and multiplied by its weight. A missing value (NaN) lands on the centre.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace timbre::index {

struct FeatureScaler {
  static constexpr float kClip = 5.0f;

  std::vector<float> center;
  std::vector<float> scale;   // robust spread, > 0
  std::vector<float> weight;  // per feature
  size_t fitted_rows = 0;     // library size it was fitted on

  // `weights` has one entry per feature.
  static FeatureScaler Fit(const std::vector<std::vector<float>>& rows,
                           const std::vector<float>& weights);
  size_t dim() const { return center.size(); }
  std::vector<float> Apply(std::span<const float> raw) const;
};

// Weights that give each group of features its share: sqrt(group weight / group size), so a
// group's expected squared contribution to a distance is proportional to its weight.
std::vector<float> GroupWeights(const std::vector<size_t>& group_of_feature,
                                const std::vector<double>& group_weight);

}  // namespace timbre::index
