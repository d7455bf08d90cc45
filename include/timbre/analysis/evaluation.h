// Scores for descriptor estimates against ground truth, as the MIR literature defines them:
// tempo Accuracy1 (within 4 % of the truth) and Accuracy2 (also at x2, x1/2, x3, x1/3), and
// the MIREX key score (1 same key, 0.5 a fifth away in the same mode, 0.3 relative,
// 0.2 parallel, 0 otherwise).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace timbre::analysis {

bool TempoAccuracy1(double estimate, double truth);
bool TempoAccuracy2(double estimate, double truth);

struct Key {
  int tonic = 0;  // pitch class, 0 = C
  bool minor = false;
};

// "Eb minor", "C# major", "a minor", "Bbm" → Key; nullopt when unreadable.
std::optional<Key> ParseKey(std::string_view text);

double MirexKeyScore(const Key& estimate, const Key& truth);

}  // namespace timbre::analysis
