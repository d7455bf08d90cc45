#include "timbre/index/timbre_v1.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace timbre::index {
namespace {

std::vector<FeatureSpec> BuildFeatures() {
  using T = FeatureTransform;
  std::vector<FeatureSpec> f;
  // Timbre: the spectral envelope (MFCC 1-12; c0 is level, which loudness covers) and how
  // much it moves (log variances, c0 included: level movement is part of the texture).
  for (int i = 1; i <= 12; ++i) f.push_back({fmt::format("spectral.mfcc_mean_{}", i), "mfcc"});
  for (int i = 0; i <= 12; ++i) {
    f.push_back({fmt::format("spectral.mfcc_var_{}", i), "mfcc_spread", T::kLog});
  }
  // Spectral shape: brightness, noisiness and peak/valley contrast per band.
  for (const char* name : {"centroid_mean", "centroid_std", "rolloff_mean", "rolloff_std"}) {
    f.push_back({fmt::format("spectral.{}", name), "shape", T::kLog});
  }
  f.push_back({"spectral.flatness_mean", "shape", T::kLog});
  f.push_back({"spectral.zcr_mean", "shape", T::kLog});
  for (int i = 0; i < 6; ++i) f.push_back({fmt::format("spectral.contrast_{}", i), "shape"});
  // Dynamics: how the level moves, not how loud the master is.
  f.push_back({"spectral.flux_mean", "dynamics", T::kLog});
  f.push_back({"spectral.flux_std", "dynamics", T::kLog});
  f.push_back({"spectral.loudness_std", "dynamics"});
  f.push_back({"spectral.dynamic_complexity", "dynamics"});
  f.push_back({"loudness.range", "dynamics"});
  // Rhythm: tempo on a log scale (an octave is one unit wherever it lies), pulse strength.
  f.push_back({"rhythm.bpm", "rhythm", T::kLog});
  f.push_back({"rhythm.onset_rate", "rhythm"});
  f.push_back({"rhythm.danceability", "rhythm"});
  f.push_back({"rhythm.bpm_confidence", "rhythm"});
  return f;
}

}  // namespace

const std::vector<FeatureSpec>& TimbreV1Features() {
  static const std::vector<FeatureSpec> kFeatures = BuildFeatures();
  return kFeatures;
}

const std::vector<FeatureGroup>& TimbreV1Groups() {
  // Timbre decides most of what "sounds alike" means; rhythm and dynamics refine it.
  static const std::vector<FeatureGroup> kGroups = {
      {"mfcc", 0.35}, {"mfcc_spread", 0.15}, {"shape", 0.25}, {"dynamics", 0.10}, {"rhythm", 0.15}};
  return kGroups;
}

std::optional<std::vector<float>> TimbreV1Vector(const std::map<std::string, double>& numbers) {
  if (!numbers.contains("spectral.mfcc_mean_1")) return std::nullopt;
  const auto& features = TimbreV1Features();
  std::vector<float> v(features.size(), std::numeric_limits<float>::quiet_NaN());
  for (size_t i = 0; i < features.size(); ++i) {
    auto it = numbers.find(features[i].source);
    if (it == numbers.end() || !std::isfinite(it->second)) continue;
    double x = it->second;
    if (features[i].transform == FeatureTransform::kLog) {
      // A small floor keeps silent or flat tracks finite.
      x = std::log(std::max(x, 0.0) + 1e-6);
    }
    v[i] = static_cast<float>(x);
  }
  return v;
}

}  // namespace timbre::index
