#include "timbre/analysis/evaluation.h"

#include <cctype>
#include <cmath>

namespace timbre::analysis {

bool TempoAccuracy1(double estimate, double truth) {
  return truth > 0 && std::fabs(estimate - truth) <= 0.04 * truth;
}

bool TempoAccuracy2(double estimate, double truth) {
  for (double m : {1.0, 2.0, 0.5, 3.0, 1.0 / 3.0}) {
    if (TempoAccuracy1(estimate, truth * m)) return true;
  }
  return false;
}

std::optional<Key> ParseKey(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  static constexpr int kNatural[7] = {9, 11, 0, 2, 4, 5, 7};  // A..G
  const char letter = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
  if (letter < 'A' || letter > 'G') return std::nullopt;
  Key key;
  key.tonic = kNatural[letter - 'A'];
  text.remove_prefix(1);
  if (!text.empty() && (text[0] == '#' || text[0] == 'b')) {
    key.tonic = (key.tonic + (text[0] == '#' ? 1 : 11)) % 12;
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  std::string mode;
  for (char c : text) mode += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (mode.empty() || mode == "major" || mode == "maj") {
    key.minor = false;
  } else if (mode == "minor" || mode == "min" || mode == "m") {
    key.minor = true;
  } else {
    return std::nullopt;
  }
  return key;
}

double MirexKeyScore(const Key& e, const Key& t) {
  const int up = ((e.tonic - t.tonic) % 12 + 12) % 12;
  if (e.minor == t.minor) {
    if (up == 0) return 1.0;
    if (up == 5 || up == 7) return 0.5;
    return 0.0;
  }
  if (!t.minor && e.minor && up == 9) return 0.3;  // C major → A minor
  if (t.minor && !e.minor && up == 3) return 0.3;  // A minor → C major
  if (up == 0) return 0.2;
  return 0.0;
}

}  // namespace timbre::analysis
