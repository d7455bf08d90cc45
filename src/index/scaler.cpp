#include "timbre/index/scaler.h"

#include <algorithm>
#include <cmath>

namespace timbre::index {
namespace {

float Median(std::vector<float>& v) {
  if (v.empty()) return 0.0f;
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  return v[mid];
}

}  // namespace

FeatureScaler FeatureScaler::Fit(const std::vector<std::vector<float>>& rows,
                                 const std::vector<float>& weights) {
  const size_t dim = weights.size();
  FeatureScaler s;
  s.center.assign(dim, 0.0f);
  s.scale.assign(dim, 1.0f);
  s.weight = weights;
  s.fitted_rows = rows.size();
  std::vector<float> column;
  for (size_t f = 0; f < dim; ++f) {
    column.clear();
    for (const auto& r : rows) {
      if (f < r.size() && std::isfinite(r[f])) column.push_back(r[f]);
    }
    if (column.empty()) continue;
    const float median = Median(column);
    double mean = 0.0;
    for (float x : column) mean += x;
    mean /= static_cast<double>(column.size());
    double var = 0.0;
    for (float& x : column) {
      var += (x - mean) * (x - mean);
      x = std::fabs(x - median);
    }
    const float mad = Median(column);
    const double sd = std::sqrt(var / static_cast<double>(column.size()));
    s.center[f] = median;
    // A feature constant in most of the library has MAD 0; its deviations still count.
    if (mad > 1e-9f) {
      s.scale[f] = 1.4826f * mad;
    } else if (sd > 1e-9) {
      s.scale[f] = static_cast<float>(sd);
    }
  }
  return s;
}

std::vector<float> FeatureScaler::Apply(std::span<const float> raw) const {
  std::vector<float> out(dim(), 0.0f);
  for (size_t f = 0; f < dim() && f < raw.size(); ++f) {
    if (!std::isfinite(raw[f])) continue;
    const float z = std::clamp((raw[f] - center[f]) / scale[f], -kClip, kClip);
    out[f] = z * weight[f];
  }
  return out;
}

std::vector<float> GroupWeights(const std::vector<size_t>& group_of_feature,
                                const std::vector<double>& group_weight) {
  std::vector<size_t> size(group_weight.size(), 0);
  for (size_t g : group_of_feature) ++size[g];
  std::vector<float> out;
  out.reserve(group_of_feature.size());
  for (size_t g : group_of_feature) {
    out.push_back(static_cast<float>(std::sqrt(group_weight[g] / static_cast<double>(size[g]))));
  }
  return out;
}

}  // namespace timbre::index
