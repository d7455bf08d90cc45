// Pitch-class profiles and key estimation.
//
// ChromaAccumulator takes the spectral peaks of each frame (60 Hz - 5 kHz, within 40 dB of
// the frame's strongest, parabolically interpolated), and adds each frame's normalised peak
// magnitudes to a 120-bin (10-cent) pitch-class histogram; each peak also votes, with a
// lower weight, for the pitch whose third harmonic it may be. At the end the tuning is the
// circular mean of where energy falls within the semitone, and 12- and 36-bin profiles
// (HPCP-like) are read off the histogram around the tuned semitone positions.
//
// EstimateKey correlates a 12-bin profile with the 24 rotations of a key profile (Pearson).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "timbre/dsp/stft.h"

namespace timbre::dsp {

struct TonalSummary {
  double tuning_hz = 440.0;
  std::array<double, 12> chroma{};  // C..B, max 1 (all 0 for atonal or silent input)
  std::array<double, 36> hpcp{};    // C..B in thirds of a semitone, max 1
  size_t tonal_frames = 0;          // frames that had peaks
};

class ChromaAccumulator {
 public:
  // third_harmonic_vote: how much each peak also counts for the pitch a twelfth below.
  explicit ChromaAccumulator(double min_hz = 60.0, double max_hz = 5000.0,
                             double third_harmonic_vote = 0.8);
  void AddFrame(const SpectrumFrame& frame);
  TonalSummary Finish() const;

 private:
  double min_hz_;
  double max_hz_;
  double third_harmonic_vote_;
  std::array<double, 120> fine_{};
  size_t frames_ = 0;
};

enum class KeyProfile { kKrumhansl, kTemperley, kDiatonic };
std::string_view KeyProfileName(KeyProfile p);

struct KeyEstimate {
  int tonic = 0;  // pitch class, 0 = C
  bool minor = false;
  double strength = 0.0;     // correlation of the best key, -1..1
  std::string Name() const;  // "Eb minor"
};

// nullopt when the profile is flat (silence, noise): no key.
std::optional<KeyEstimate> EstimateKey(const std::array<double, 12>& chroma, KeyProfile profile);

std::string_view PitchClassName(int pc);  // "C", "Db", ... "B"

}  // namespace timbre::dsp
