#include "timbre/dsp/tonal.h"

#include <algorithm>
#include <cmath>

namespace timbre::dsp {
namespace {

// Key profiles, tonic first. Krumhansl & Kessler (1982) probe-tone ratings; Temperley
// (1999, "What's key for key?"), revised from textbook harmony; diatonic: plain scale
// membership (major scale; harmonic minor scale), which favours no degree over another.
constexpr std::array<double, 12> kKrumhanslMajor = {6.35, 2.23, 3.48, 2.33, 4.38, 4.09,
                                                    2.52, 5.19, 2.39, 3.66, 2.29, 2.88};
constexpr std::array<double, 12> kKrumhanslMinor = {6.33, 2.68, 3.52, 5.38, 2.60, 3.53,
                                                    2.54, 4.75, 3.98, 2.69, 3.34, 3.17};
constexpr std::array<double, 12> kTemperleyMajor = {5.0, 2.0, 3.5, 2.0, 4.5, 4.0,
                                                    2.0, 4.5, 2.0, 3.5, 1.5, 4.0};
constexpr std::array<double, 12> kTemperleyMinor = {5.0, 2.0, 3.5, 4.5, 2.0, 4.0,
                                                    2.0, 4.5, 3.5, 2.0, 1.5, 4.0};
constexpr std::array<double, 12> kDiatonicMajor = {1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1};
constexpr std::array<double, 12> kDiatonicMinor = {1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1};

double Correlation(const std::array<double, 12>& a, const std::array<double, 12>& b, int shift) {
  double ma = 0, mb = 0;
  for (int i = 0; i < 12; ++i) {
    ma += a[i];
    mb += b[i];
  }
  ma /= 12;
  mb /= 12;
  double num = 0, da = 0, db = 0;
  for (int i = 0; i < 12; ++i) {
    const double x = a[(i + shift) % 12] - ma;  // chroma rotated so the tonic is index 0
    const double y = b[i] - mb;
    num += x * y;
    da += x * x;
    db += y * y;
  }
  return da > 0 && db > 0 ? num / std::sqrt(da * db) : 0.0;
}

}  // namespace

ChromaAccumulator::ChromaAccumulator(double min_hz, double max_hz, double third_harmonic_vote)
    : min_hz_(min_hz), max_hz_(max_hz), third_harmonic_vote_(third_harmonic_vote) {}

void ChromaAccumulator::AddFrame(const SpectrumFrame& f) {
  const double bin_hz = f.bin_hz();
  float peak = 0.0f;
  for (size_t k = 0; k < f.bins; ++k) peak = std::max(peak, f.magnitude[k]);
  if (peak < 1e-5f) return;          // silence (-100 dB)
  const float floor = peak * 0.01f;  // peaks within 40 dB of the frame's strongest
  const size_t lo = std::max<size_t>(1, static_cast<size_t>(min_hz_ / bin_hz));
  const size_t hi = std::min(f.bins - 1, static_cast<size_t>(max_hz_ / bin_hz) + 1);
  std::array<double, 120> frame{};
  double total = 0.0;
  for (size_t k = lo; k < hi; ++k) {
    const float m = f.magnitude[k];
    if (m < floor || m <= f.magnitude[k - 1] || m < f.magnitude[k + 1]) continue;
    // Parabolic interpolation on log magnitude locates the peak between bins.
    const double a = std::log(f.magnitude[k - 1] + 1e-12), b = std::log(m + 1e-12),
                 c = std::log(f.magnitude[k + 1] + 1e-12);
    const double denom = a - 2 * b + c;
    const double offset = denom < 0 ? 0.5 * (a - c) / denom : 0.0;
    const double hz = (static_cast<double>(k) + offset) * bin_hz;
    if (hz < min_hz_ || hz > max_hz_) continue;
    const double semis = 12.0 * std::log2(hz / 440.0) + 9.0;  // 0 = C
    double pos = std::fmod(semis * 10.0, 120.0);
    if (pos < 0) pos += 120.0;
    // Split between the two nearest 10-cent bins.
    const double fl = std::floor(pos);
    const size_t i0 = static_cast<size_t>(fl) % 120;
    const double w1 = pos - fl;
    frame[i0] += m * (1.0 - w1);
    frame[(i0 + 1) % 120] += m * w1;
    total += m;
    // The peak may be the third harmonic of a lower note: it also votes for the pitch a
    // twelfth below (a fifth, once folded into the octave). This moves weight from fifths
    // back to roots, which is what separates a minor key from its relative major.
    const size_t j0 = (i0 + 120 - 70) % 120;  // 7 semitones down, in 10-cent bins
    frame[j0] += third_harmonic_vote_ * m * (1.0 - w1);
    frame[(j0 + 1) % 120] += third_harmonic_vote_ * m * w1;
    total += (1.0 + third_harmonic_vote_) * m;
  }
  if (total <= 0.0) return;
  // Each frame counts the same whatever its level: quiet passages still vote.
  for (size_t i = 0; i < 120; ++i) fine_[i] += frame[i] / total;
  ++frames_;
}

TonalSummary ChromaAccumulator::Finish() const {
  TonalSummary s;
  s.tonal_frames = frames_;
  if (frames_ == 0) return s;
  // Tuning: circular mean of the position within the semitone (10 bins per turn).
  double re = 0, im = 0;
  for (size_t i = 0; i < 120; ++i) {
    const double phase = 2.0 * M_PI * static_cast<double>(i % 10) / 10.0;
    re += fine_[i] * std::cos(phase);
    im += fine_[i] * std::sin(phase);
  }
  double deviation = std::atan2(im, re) / (2.0 * M_PI);  // semitones, -0.5..0.5
  s.tuning_hz = 440.0 * std::pow(2.0, deviation / 12.0);
  // Bin i covers [i, i+1) tenths of a semitone; its centre is (i + 0.5) / 10. Positions are
  // measured against the tuned grid, so a sharp recording's energy lands on the right notes.
  for (size_t i = 0; i < 120; ++i) {
    if (fine_[i] == 0.0) continue;
    double semis = (static_cast<double>(i) + 0.5) / 10.0 - deviation;
    semis = std::fmod(semis + 12.0, 12.0);
    s.chroma[static_cast<size_t>(std::lround(semis)) % 12] += fine_[i];
    s.hpcp[static_cast<size_t>(std::lround(semis * 3.0)) % 36] += fine_[i];
  }
  const double cmax = *std::max_element(s.chroma.begin(), s.chroma.end());
  const double hmax = *std::max_element(s.hpcp.begin(), s.hpcp.end());
  for (auto& v : s.chroma) v = cmax > 0 ? v / cmax : 0.0;
  for (auto& v : s.hpcp) v = hmax > 0 ? v / hmax : 0.0;
  return s;
}

std::string_view KeyProfileName(KeyProfile p) {
  switch (p) {
    case KeyProfile::kKrumhansl:
      return "krumhansl";
    case KeyProfile::kTemperley:
      return "temperley";
    case KeyProfile::kDiatonic:
      return "diatonic";
  }
  return "unknown";
}

std::string_view PitchClassName(int pc) {
  static constexpr std::string_view kNames[12] = {"C",  "Db", "D",  "Eb", "E",  "F",
                                                  "Gb", "G",  "Ab", "A",  "Bb", "B"};
  return kNames[((pc % 12) + 12) % 12];
}

std::string KeyEstimate::Name() const {
  return std::string(PitchClassName(tonic)) + (minor ? " minor" : " major");
}

std::optional<KeyEstimate> EstimateKey(const std::array<double, 12>& chroma, KeyProfile profile) {
  const auto* major = &kKrumhanslMajor;
  const auto* minor = &kKrumhanslMinor;
  if (profile == KeyProfile::kTemperley) {
    major = &kTemperleyMajor;
    minor = &kTemperleyMinor;
  } else if (profile == KeyProfile::kDiatonic) {
    major = &kDiatonicMajor;
    minor = &kDiatonicMinor;
  }
  const double lo = *std::min_element(chroma.begin(), chroma.end());
  const double hi = *std::max_element(chroma.begin(), chroma.end());
  if (!(hi > 0.0) || hi - lo < 1e-3 * hi) return std::nullopt;  // flat: no tonal centre
  KeyEstimate best;
  best.strength = -2.0;
  for (int tonic = 0; tonic < 12; ++tonic) {
    for (bool is_minor : {false, true}) {
      const double r = Correlation(chroma, is_minor ? *minor : *major, tonic);
      if (r > best.strength) best = {tonic, is_minor, r};
    }
  }
  return best;
}

}  // namespace timbre::dsp
