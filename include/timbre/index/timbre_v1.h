// The built-in `timbre-v1` embedding space: a vector made from the DSP descriptors, so
// similarity works with no model at all. docs/similarity.md lists the features and why.
//
// A track's raw vector is stored in the store; the index normalises it per library (robust
// z-scores, see FeatureScaler) and weights each feature group, so that no feature dominates
// by its unit and each group contributes the share it is given.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace timbre::index {

inline constexpr char kTimbreV1Space[] = "timbre-v1";
// The analysis whose replacement invalidates a stored timbre-v1 vector.
inline constexpr char kTimbreV1Source[] = "spectral";

enum class FeatureTransform { kLinear, kLog };

struct FeatureSpec {
  std::string source;  // "analyzer.output"
  std::string group;   // features of one group share the group's weight
  FeatureTransform transform = FeatureTransform::kLinear;
};

struct FeatureGroup {
  std::string name;
  double weight = 1.0;  // share of the total squared distance the group may contribute
};

const std::vector<FeatureSpec>& TimbreV1Features();
const std::vector<FeatureGroup>& TimbreV1Groups();

// The raw vector of a track from its numeric outputs ("analyzer.name" → value). Outputs the
// track lacks become NaN (the scaler puts them at the library's centre); nullopt when the
// track has no spectral analysis at all (nothing to compare).
std::optional<std::vector<float>> TimbreV1Vector(const std::map<std::string, double>& numbers);

}  // namespace timbre::index
