// Per-frame spectral shape and summary statistics.
//
// SpectralShape measures one frame: centroid and 85 % roll-off (Hz), flatness (geometric over
// arithmetic mean of power, 0..1; white noise is near 1, a sine near 0), flux (Euclidean
// distance between consecutive sum-normalised magnitude spectra), spectral contrast in six
// octave bands (dB between the top and bottom fifth of each band), zero-crossing rate and RMS
// level (dBFS) of the frame's samples.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

#include "timbre/dsp/stft.h"

namespace timbre::dsp {

inline constexpr size_t kContrastBands = 6;

struct FrameShape {
  double centroid_hz = 0.0;
  double rolloff_hz = 0.0;
  double flatness = 0.0;
  double flux = 0.0;
  double zcr = 0.0;        // crossings per sample, 0..1
  double rms_db = -120.0;  // floor for digital silence
  std::array<double, kContrastBands> contrast_db{};
  bool silent = true;  // below -60 dBFS: shape values are 0
};

// The sums of the `k` smallest and of the `k` largest of `values` (non-negative, finite,
// 2k <= values.size()), as a partial sort would select them, in a few linear passes:
// non-negative floats order like their bit patterns, so a 64-bucket histogram of the bit
// patterns finds the bucket that holds each boundary, and only that bucket is partitioned.
// `scratch` is reused between calls.
struct ExtremeSums {
  double low = 0.0;
  double high = 0.0;
};
ExtremeSums SumOfExtremes(const float* values, size_t n, size_t k, std::vector<float>& scratch);

class SpectralShape {
 public:
  FrameShape Measure(const SpectrumFrame& frame);

 private:
  std::vector<float> previous_;  // normalised magnitudes of the last frame
  std::vector<float> current_;
  std::vector<float> scratch_;
};

// Running mean and variance (Welford), for summaries that never keep per-frame values.
class RunningStats {
 public:
  void Add(double x);
  size_t count() const { return n_; }
  double mean() const { return mean_; }
  double variance() const { return n_ > 1 ? m2_ / static_cast<double>(n_ - 1) : 0.0; }
  double stddev() const;

 private:
  size_t n_ = 0;
  double mean_ = 0.0;
  double m2_ = 0.0;
};

// Running mean and covariance of fixed-size vectors.
class RunningCovariance {
 public:
  explicit RunningCovariance(size_t dim);
  void Add(const float* x);
  size_t count() const { return n_; }
  const std::vector<double>& mean() const { return mean_; }
  // Row-major dim × dim sample covariance.
  std::vector<double> Covariance() const;

 private:
  size_t dim_;
  size_t n_ = 0;
  std::vector<double> mean_;
  std::vector<double> comoment_;
};

}  // namespace timbre::dsp
