#include "timbre/dsp/spectral.h"

#include <algorithm>
#include <cmath>

namespace timbre::dsp {

FrameShape SpectralShape::Measure(const SpectrumFrame& f) {
  FrameShape s;
  double energy = 0.0;
  size_t crossings = 0;
  for (size_t i = 0; i < f.frame_size; ++i) {
    energy += static_cast<double>(f.samples[i]) * f.samples[i];
    if (i > 0 && (f.samples[i] >= 0.0f) != (f.samples[i - 1] >= 0.0f)) ++crossings;
  }
  const double rms = std::sqrt(energy / static_cast<double>(f.frame_size));
  s.rms_db = rms > 1e-6 ? 20.0 * std::log10(rms) : -120.0;
  s.zcr = static_cast<double>(crossings) / static_cast<double>(f.frame_size);
  s.silent = s.rms_db < -60.0;

  const double bin_hz = f.bin_hz();
  double total = 0.0, power = 0.0, weighted = 0.0;
  // The geometric mean as a running product kept in range by frexp: one logarithm per frame
  // instead of one per bin. Eight factors in [1e-20, ~1] cannot underflow a double, so the
  // product is renormalised once per eight bins.
  double product = 1.0;
  double chunk = 1.0;
  long exponent = 0;
  for (size_t k = 0; k < f.bins; ++k) {
    const double m = f.magnitude[k];
    const double p = m * m;
    total += m;
    power += p;
    weighted += m * static_cast<double>(k) * bin_hz;
    chunk *= p + 1e-20;
    if ((k & 7) == 7 || k + 1 == f.bins) {
      int e = 0;
      product = std::frexp(product * chunk, &e);
      exponent += e;
      chunk = 1.0;
    }
  }
  const double log_sum = std::log(product) + static_cast<double>(exponent) * std::log(2.0);
  // Flux is measured on every frame, so a change after silence still shows.
  current_.assign(f.magnitude, f.magnitude + f.bins);
  if (total > 0) {
    const float scale = static_cast<float>(1.0 / total);
    for (auto& v : current_) v *= scale;
  }
  if (previous_.size() == f.bins) {
    double d = 0.0;
    for (size_t k = 0; k < f.bins; ++k) {
      const double x = current_[k] - previous_[k];
      d += x * x;
    }
    s.flux = std::sqrt(d);
  }
  previous_.swap(current_);
  if (s.silent || power <= 0.0) return s;

  s.centroid_hz = weighted / total;
  const double mean_power = power / static_cast<double>(f.bins);
  s.flatness = std::clamp(std::exp(log_sum / static_cast<double>(f.bins)) / mean_power, 0.0, 1.0);
  double acc = 0.0;
  for (size_t k = 0; k < f.bins; ++k) {
    acc += static_cast<double>(f.magnitude[k]) * f.magnitude[k];
    if (acc >= 0.85 * power) {
      s.rolloff_hz = static_cast<double>(k) * bin_hz;
      break;
    }
  }
  // Octave bands from 200 Hz: 200-400, ..., 6.4-12.8 kHz (capped at Nyquist).
  std::vector<float>& band = band_;
  for (size_t b = 0; b < kContrastBands; ++b) {
    const double lo = 200.0 * std::pow(2.0, static_cast<double>(b));
    const double hi = std::min(lo * 2.0, f.sample_rate / 2.0);
    band.clear();
    for (size_t k = static_cast<size_t>(lo / bin_hz); k < f.bins && k * bin_hz < hi; ++k) {
      band.push_back(f.magnitude[k]);
    }
    if (band.size() < 5) continue;
    // Partition instead of sorting: only the sums of the bottom and top fifths matter.
    const size_t fifth = band.size() / 5;
    std::nth_element(band.begin(), band.begin() + static_cast<ptrdiff_t>(fifth), band.end());
    std::nth_element(band.begin() + static_cast<ptrdiff_t>(fifth),
                     band.end() - static_cast<ptrdiff_t>(fifth), band.end());
    double low = 0.0, high = 0.0;
    for (size_t i = 0; i < fifth; ++i) {
      low += band[i];
      high += band[band.size() - 1 - i];
    }
    s.contrast_db[b] = 20.0 * std::log10((high + 1e-9) / (low + 1e-9));
  }
  return s;
}

void RunningStats::Add(double x) {
  ++n_;
  const double d = x - mean_;
  mean_ += d / static_cast<double>(n_);
  m2_ += d * (x - mean_);
}

double RunningStats::stddev() const { return std::sqrt(variance()); }

RunningCovariance::RunningCovariance(size_t dim)
    : dim_(dim), mean_(dim, 0.0), comoment_(dim * dim, 0.0) {}

void RunningCovariance::Add(const float* x) {
  ++n_;
  std::vector<double> before(mean_);
  for (size_t i = 0; i < dim_; ++i) mean_[i] += (x[i] - mean_[i]) / static_cast<double>(n_);
  for (size_t i = 0; i < dim_; ++i) {
    for (size_t j = 0; j < dim_; ++j)
      comoment_[i * dim_ + j] += (x[i] - before[i]) * (x[j] - mean_[j]);
  }
}

std::vector<double> RunningCovariance::Covariance() const {
  std::vector<double> c(dim_ * dim_, 0.0);
  if (n_ < 2) return c;
  for (size_t i = 0; i < c.size(); ++i) c[i] = comoment_[i] / static_cast<double>(n_ - 1);
  return c;
}

}  // namespace timbre::dsp
