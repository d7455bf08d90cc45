// Mel filterbank (Slaney-style triangles on the HTK mel scale) and MFCCs (log10 band energies
// through an orthonormal DCT-II), over magnitude spectra from Stft.
#pragma once

#include <cstddef>
#include <vector>

namespace timbre::dsp {

double HzToMel(double hz);
double MelToHz(double mel);

class MelFilterbank {
 public:
  // `bins` magnitude bins spanning 0..sample_rate/2; `bands` triangles from low to high Hz.
  MelFilterbank(size_t bins, double sample_rate, size_t bands, double low_hz, double high_hz);
  size_t bands() const { return filters_.size(); }
  // Band energies: the sum of weight × magnitude² over each triangle.
  void Apply(const float* magnitude, float* energies) const;

 private:
  struct Filter {
    size_t first = 0;
    std::vector<float> weights;
  };
  std::vector<Filter> filters_;
};

class Mfcc {
 public:
  Mfcc(size_t bins, double sample_rate, size_t bands = 40, size_t coefficients = 13,
       double low_hz = 0.0, double high_hz = 11000.0);
  size_t coefficients() const { return coefficients_; }
  void Compute(const float* magnitude, float* out);

 private:
  MelFilterbank bank_;
  size_t coefficients_;
  std::vector<float> energies_;
  std::vector<float> dct_;  // coefficients × bands
};

}  // namespace timbre::dsp
