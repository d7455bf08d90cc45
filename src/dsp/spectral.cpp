#include "timbre/dsp/spectral.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>

namespace timbre::dsp {

namespace {

uint32_t Bits(float v) {
  uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  return u;
}

constexpr size_t kBuckets = 64;

// Adds to `sum` the `take` smallest of the values in `bucket` (by Bucket()) when `smallest`,
// else the `take` largest.
template <typename BucketOf>
double SumWithinBucket(const float* values, size_t n, size_t bucket, size_t take, bool smallest,
                       BucketOf bucket_of, std::vector<float>& scratch) {
  scratch.clear();
  for (size_t i = 0; i < n; ++i) {
    if (bucket_of(values[i]) == bucket) scratch.push_back(values[i]);
  }
  auto nth = scratch.begin() + static_cast<ptrdiff_t>(take);
  if (smallest) {
    std::nth_element(scratch.begin(), nth, scratch.end());
  } else {
    std::nth_element(scratch.begin(), nth, scratch.end(), std::greater<float>());
  }
  double sum = 0.0;
  for (auto it = scratch.begin(); it != nth; ++it) sum += *it;
  return sum;
}

}  // namespace

ExtremeSums SumOfExtremes(const float* values, size_t n, size_t k, std::vector<float>& scratch) {
  ExtremeSums out;
  if (k == 0 || n == 0) return out;
  uint32_t lo = UINT32_MAX, hi = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t b = Bits(values[i]);
    lo = std::min(lo, b);
    hi = std::max(hi, b);
  }
  const double per_bit = static_cast<double>(kBuckets) / (static_cast<double>(hi - lo) + 1.0);
  const auto bucket_of = [&](float v) {
    return std::min(kBuckets - 1, static_cast<size_t>(static_cast<double>(Bits(v) - lo) * per_bit));
  };
  std::array<size_t, kBuckets> count{};
  std::array<double, kBuckets> sum{};
  for (size_t i = 0; i < n; ++i) {
    const size_t b = bucket_of(values[i]);
    ++count[b];
    sum[b] += values[i];
  }
  // Whole buckets from the bottom while they fit, then part of the next one; the same from
  // the top.
  size_t left = k, b = 0;
  for (; count[b] < left; ++b) {
    out.low += sum[b];
    left -= count[b];
  }
  out.low +=
      count[b] == left ? sum[b] : SumWithinBucket(values, n, b, left, true, bucket_of, scratch);
  left = k;
  b = kBuckets - 1;
  for (; count[b] < left; --b) {
    out.high += sum[b];
    left -= count[b];
  }
  out.high +=
      count[b] == left ? sum[b] : SumWithinBucket(values, n, b, left, false, bucket_of, scratch);
  return out;
}

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
  for (size_t b = 0; b < kContrastBands; ++b) {
    const double lo = 200.0 * std::pow(2.0, static_cast<double>(b));
    const double hi = std::min(lo * 2.0, f.sample_rate / 2.0);
    const size_t first = static_cast<size_t>(lo / bin_hz);
    size_t end = first;
    while (end < f.bins && static_cast<double>(end) * bin_hz < hi) ++end;
    if (end < first + 5) continue;
    // Only the sums of the bottom and top fifths matter.
    const size_t fifth = (end - first) / 5;
    const ExtremeSums sums = SumOfExtremes(f.magnitude + first, end - first, fifth, scratch_);
    s.contrast_db[b] = 20.0 * std::log10((sums.high + 1e-9) / (sums.low + 1e-9));
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
