#include "timbre/dsp/true_peak.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace timbre::dsp {
namespace {

using Pair = double __attribute__((vector_size(16)));  // see k_weighting.cpp
using FloatPair = float __attribute__((vector_size(8)));

Pair LoadPair(const double* p) {
  Pair v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Lane by lane: the larger of `peak` and the magnitude of `acc` rounded to float.
Pair MaxMagnitude(Pair peak, Pair acc) {
  const Pair rounded = __builtin_convertvector(__builtin_convertvector(acc, FloatPair), Pair);
  const Pair magnitude = rounded < 0.0 ? -rounded : rounded;
  return peak > magnitude ? peak : magnitude;
}

// libebur128 stores each output as float and compares magnitudes of those floats.
double Magnitude(double acc) { return std::fabs(static_cast<double>(static_cast<float>(acc))); }

}  // namespace

TruePeakInterpolator::TruePeakInterpolator(double sample_rate, int channels)
    : channels_(channels), line_(static_cast<size_t>(channels)) {
  factor_ = sample_rate < 96000 ? 4 : sample_rate < 192000 ? 2 : 1;
  if (factor_ > 1) {
    // The expressions follow libebur128's so that every coefficient is the same double.
    constexpr unsigned kTaps = 49;
    const auto factor = static_cast<unsigned>(factor_);
    branches_.resize(factor);
    for (unsigned j = 0; j < kTaps; ++j) {
      const double m = static_cast<double>(j) - static_cast<double>(kTaps - 1) / 2.0;
      double c = 1.0;
      if (std::fabs(m) > 1e-6) c = std::sin(m * M_PI / factor) / (m * M_PI / factor);
      c *= 0.5 * (1 - std::cos(2 * M_PI * j / (kTaps - 1)));
      if (std::fabs(c) > 1e-6) {
        branches_[j % factor].coeff.push_back(c);
        branches_[j % factor].delay.push_back(j / factor);
      }
    }
  } else {
    branches_.push_back({{1.0}, {0}});  // the samples themselves
  }
  gain_ = 0.0;
  for (const Branch& b : branches_) {
    double l1 = 0.0;
    for (double c : b.coeff) l1 += std::fabs(c);
    gain_ = std::max(gain_, l1);
    for (size_t d : b.delay) history_ = std::max(history_, d);
  }
  for (auto& line : line_) line.assign(history_, 0.0);
}

void TruePeakInterpolator::Skip(const float* interleaved, size_t frames) {
  const size_t ch = static_cast<size_t>(channels_);
  const size_t keep = std::min(frames, history_);
  for (size_t c = 0; c < ch; ++c) {
    std::vector<double>& line = line_[c];
    line.erase(line.begin(), line.begin() + static_cast<ptrdiff_t>(keep));
    for (size_t i = frames - keep; i < frames; ++i) line.push_back(interleaved[i * ch + c]);
  }
}

double TruePeakInterpolator::HistoryPeak() const {
  double peak = 0.0;
  for (const auto& line : line_) {
    for (double v : line) peak = std::max(peak, std::fabs(v));
  }
  return peak;
}

double TruePeakInterpolator::Process(const float* interleaved, size_t frames) {
  const size_t ch = static_cast<size_t>(channels_);
  double peak = 0.0;
  // Running maxima per lane, so the comparisons do not chain from one output to the next.
  Pair peaks[4] = {};
  for (size_t c = 0; c < ch; ++c) {
    std::vector<double>& line = line_[c];
    line.resize(history_ + frames);
    for (size_t i = 0; i < frames; ++i) line[history_ + i] = interleaved[i * ch + c];
    const double* x = line.data() + history_;  // x[i] is frame i; x[-d] reaches back
    for (const Branch& b : branches_) {
      const size_t taps = b.coeff.size();
      size_t i = 0;
      // Eight outputs at a time in four independent pairs of lanes, so the additions of one
      // output's taps (in libebur128's order) overlap with the others'.
      for (; i + 8 <= frames; i += 8) {
        Pair a0 = {}, a1 = {}, a2 = {}, a3 = {};  // named, so they stay in registers
        for (size_t t = 0; t < taps; ++t) {
          const double* src = x + i - b.delay[t];
          const double coeff = b.coeff[t];
          a0 += LoadPair(src) * coeff;
          a1 += LoadPair(src + 2) * coeff;
          a2 += LoadPair(src + 4) * coeff;
          a3 += LoadPair(src + 6) * coeff;
        }
        peaks[0] = MaxMagnitude(peaks[0], a0);
        peaks[1] = MaxMagnitude(peaks[1], a1);
        peaks[2] = MaxMagnitude(peaks[2], a2);
        peaks[3] = MaxMagnitude(peaks[3], a3);
      }
      for (; i < frames; ++i) {
        double acc = 0.0;
        for (size_t t = 0; t < taps; ++t) acc += *(x + i - b.delay[t]) * b.coeff[t];
        peak = std::max(peak, Magnitude(acc));
      }
    }
    // Keep the newest history_ samples for the next block.
    std::copy(line.end() - static_cast<ptrdiff_t>(history_), line.end(), line.begin());
    line.resize(history_);
  }
  for (const Pair& p : peaks) peak = std::max({peak, p[0], p[1]});
  return peak;
}

}  // namespace timbre::dsp
