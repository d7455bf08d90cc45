#include "timbre/models/tiers.h"

#include <algorithm>
#include <cmath>

namespace timbre::models {

std::string_view TierName(Tier t) {
  switch (t) {
    case Tier::kHigh:
      return "high";
    case Tier::kMedium:
      return "medium";
    case Tier::kLow:
      return "low";
    case Tier::kNone:
      break;
  }
  return "";
}

void Activate(Activation activation, Matrix* scores) {
  if (activation == Activation::kNone) return;
  for (size_t r = 0; r < scores->rows; ++r) {
    float* row = scores->values.data() + r * scores->cols;
    if (activation == Activation::kSigmoid) {
      for (size_t c = 0; c < scores->cols; ++c) row[c] = 1.0f / (1.0f + std::exp(-row[c]));
      continue;
    }
    // Softmax, shifted by the row's maximum so large logits cannot overflow.
    const float top = *std::max_element(row, row + scores->cols);
    double total = 0.0;
    for (size_t c = 0; c < scores->cols; ++c) {
      row[c] = std::exp(row[c] - top);
      total += row[c];
    }
    for (size_t c = 0; c < scores->cols; ++c) row[c] = static_cast<float>(row[c] / total);
  }
}

void LabelAccumulator::Add(const Matrix& scores) {
  for (size_t r = 0; r < scores.rows; ++r) {
    const float* row = scores.row(r);
    for (size_t c = 0; c < sum_.size() && c < scores.cols; ++c) {
      sum_[c] += row[c];
      sum_sq_[c] += static_cast<double>(row[c]) * row[c];
    }
  }
  patches_ += scores.rows;
}

double LabelAccumulator::mean(size_t label) const {
  return patches_ == 0 ? 0.0 : sum_[label] / static_cast<double>(patches_);
}

double LabelAccumulator::spread(size_t label) const {
  if (patches_ == 0) return 0.0;
  const double m = mean(label);
  return std::sqrt(std::max(0.0, sum_sq_[label] / static_cast<double>(patches_) - m * m));
}

namespace {

bool Reaches(const LabelScore& s, const TierRule& rule) {
  return s.mean >= rule.probability && s.margin >= rule.margin && s.spread <= rule.spread;
}

}  // namespace

std::vector<LabelScore> ScoreLabels(const Manifest& model, const LabelAccumulator& acc) {
  const size_t n = model.labels.size();
  std::vector<LabelScore> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i].label = model.labels[i];
    out[i].mean = acc.mean(i);
    out[i].spread = acc.spread(i);
  }
  for (size_t i = 0; i < n; ++i) {
    LabelScore& s = out[i];
    double opposing = 1.0 - s.mean;
    if (!model.tiers.multilabel && n > 1) {
      opposing = 0.0;
      for (size_t j = 0; j < n; ++j) {
        if (j != i) opposing = std::max(opposing, out[j].mean);
      }
    }
    s.margin = s.mean - opposing;
    const auto& allowed = model.tiers.labels;
    s.taggable =
        allowed.empty() || std::find(allowed.begin(), allowed.end(), s.label) != allowed.end();
    if (!s.taggable || acc.patches() == 0) continue;
    if (Reaches(s, model.tiers.high)) {
      s.tier = Tier::kHigh;
    } else if (Reaches(s, model.tiers.medium)) {
      s.tier = Tier::kMedium;
    } else if (Reaches(s, model.tiers.low)) {
      s.tier = Tier::kLow;
    }
  }
  return out;
}

void ResolveContradictions(std::vector<ScoredHead>& heads) {
  auto find = [&](const std::string& label) -> LabelScore* {
    for (auto& h : heads) {
      for (auto& s : h.labels) {
        if (s.label == label && s.tier != Tier::kNone) return &s;
      }
    }
    return nullptr;
  };
  for (auto& h : heads) {
    for (const auto& [a, b] : h.model->tiers.contradicts) {
      LabelScore* x = find(a);
      LabelScore* y = find(b);
      if (x == nullptr || y == nullptr || x == y) continue;
      const bool x_wins = x->tier != y->tier ? x->tier > y->tier : x->mean >= y->mean;
      (x_wins ? y : x)->tier = Tier::kNone;
    }
  }
}

}  // namespace timbre::models
