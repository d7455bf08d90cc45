#include "timbre/dsp/mel.h"

#include <algorithm>
#include <cmath>

namespace timbre::dsp {

double HzToMel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }
double MelToHz(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }

MelFilterbank::MelFilterbank(size_t bins, double sample_rate, size_t bands, double low_hz,
                             double high_hz) {
  high_hz = std::min(high_hz, sample_rate / 2.0);
  const double bin_hz = sample_rate / (2.0 * static_cast<double>(bins - 1));
  const double low = HzToMel(low_hz);
  const double high = HzToMel(high_hz);
  std::vector<double> edges(bands + 2);
  for (size_t i = 0; i < edges.size(); ++i) {
    edges[i] =
        MelToHz(low + (high - low) * static_cast<double>(i) / static_cast<double>(bands + 1));
  }
  for (size_t b = 0; b < bands; ++b) {
    const double left = edges[b], center = edges[b + 1], right = edges[b + 2];
    // Unit area per triangle, so wide high bands do not dominate narrow low ones.
    const double norm = 2.0 / (right - left);
    Filter f;
    f.first = static_cast<size_t>(std::ceil(left / bin_hz));
    for (size_t k = f.first; k < bins && k * bin_hz < right; ++k) {
      const double hz = static_cast<double>(k) * bin_hz;
      const double w =
          hz < center ? (hz - left) / (center - left) : (right - hz) / (right - center);
      f.weights.push_back(static_cast<float>(std::max(0.0, w) * norm));
    }
    filters_.push_back(std::move(f));
  }
}

void MelFilterbank::Apply(const float* magnitude, float* energies) const {
  for (size_t b = 0; b < filters_.size(); ++b) {
    const Filter& f = filters_[b];
    float e = 0.0f;
    for (size_t i = 0; i < f.weights.size(); ++i) {
      const float m = magnitude[f.first + i];
      e += f.weights[i] * m * m;
    }
    energies[b] = e;
  }
}

Mfcc::Mfcc(size_t bins, double sample_rate, size_t bands, size_t coefficients, double low_hz,
           double high_hz)
    : bank_(bins, sample_rate, bands, low_hz, high_hz),
      coefficients_(coefficients),
      energies_(bands),
      dct_(coefficients * bands) {
  const double n = static_cast<double>(bands);
  for (size_t k = 0; k < coefficients; ++k) {
    const double scale = k == 0 ? std::sqrt(1.0 / n) : std::sqrt(2.0 / n);
    for (size_t b = 0; b < bands; ++b) {
      dct_[k * bands + b] =
          static_cast<float>(scale * std::cos(M_PI * static_cast<double>(k) * (b + 0.5) / n));
    }
  }
}

void Mfcc::Compute(const float* magnitude, float* out) {
  bank_.Apply(magnitude, energies_.data());
  // A floor at -100 dB keeps silence finite.
  for (auto& e : energies_) e = std::log10(std::max(e, 1e-10f));
  const size_t bands = energies_.size();
  for (size_t k = 0; k < coefficients_; ++k) {
    float acc = 0.0f;
    for (size_t b = 0; b < bands; ++b) acc += dct_[k * bands + b] * energies_[b];
    out[k] = acc;
  }
}

}  // namespace timbre::dsp
