#include "timbre/dsp/rhythm.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace timbre::dsp {
namespace {

// Autocorrelation (mean of products) at integer lags 0..max_lag.
std::vector<double> Autocorrelation(const std::vector<double>& x, size_t max_lag) {
  std::vector<double> r(max_lag + 1, 0.0);
  const size_t n = x.size();
  for (size_t lag = 0; lag <= max_lag && lag < n; ++lag) {
    double acc = 0.0;
    for (size_t i = 0; i + lag < n; ++i) acc += x[i] * x[i + lag];
    r[lag] = acc / static_cast<double>(n - lag);
  }
  return r;
}

// Position of the maximum of r in [lo, hi], refined by a parabola through its neighbours.
double PeakNear(const std::vector<double>& r, size_t lo, size_t hi) {
  hi = std::min(hi, r.size() - 2);
  lo = std::max<size_t>(lo, 1);
  if (lo > hi) return 0.0;
  size_t best = lo;
  for (size_t i = lo; i <= hi; ++i) {
    if (r[i] > r[best]) best = i;
  }
  const double a = r[best - 1], b = r[best], c = r[best + 1];
  const double denom = a - 2 * b + c;
  const double offset = denom < 0 ? 0.5 * (a - c) / denom : 0.0;
  return static_cast<double>(best) + std::clamp(offset, -0.5, 0.5);
}

}  // namespace

OnsetDetector::OnsetDetector(size_t bins, double sample_rate)
    : bank_(bins, sample_rate, 40, 30.0, 11000.0), bands_(40), previous_(40, 0.0f) {}

void OnsetDetector::AddFrame(const SpectrumFrame& frame) {
  bank_.Apply(frame.magnitude, bands_.data());
  float flux = 0.0f;
  for (size_t b = 0; b < bands_.size(); ++b) {
    // Log compression makes the flux follow relative, not absolute, changes in level.
    const float v = std::log10(1.0f + 1000.0f * std::sqrt(bands_[b]));
    if (!first_) flux += std::max(0.0f, v - previous_[b]);
    previous_[b] = v;
  }
  first_ = false;
  envelope_.push_back(flux);
}

std::optional<RhythmResult> AnalyzeRhythm(const std::vector<float>& envelope, double frame_rate,
                                          double time_offset, const RhythmOptions& options) {
  const size_t n = envelope.size();
  const double min_lag = 60.0 * frame_rate / options.max_bpm;
  const double max_lag = 60.0 * frame_rate / options.min_bpm;
  if (n < static_cast<size_t>(4 * max_lag) || !(min_lag >= 2.0)) return std::nullopt;

  // Local mean removal over one second, then half-wave rectification.
  const size_t half = static_cast<size_t>(frame_rate / 2);
  std::vector<double> prefix(n + 1, 0.0);
  for (size_t i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + envelope[i];
  std::vector<double> e(n);
  for (size_t i = 0; i < n; ++i) {
    const size_t a = i > half ? i - half : 0, b = std::min(n, i + half + 1);
    e[i] = std::max(0.0, envelope[i] - (prefix[b] - prefix[a]) / static_cast<double>(b - a));
  }

  const size_t reach = static_cast<size_t>(std::ceil(4 * max_lag)) + 2;
  const std::vector<double> r = Autocorrelation(e, reach);
  if (!(r[0] > 1e-12)) return std::nullopt;

  // r near a fractional lag: the larger of its two integer neighbours, so multiples of a
  // period that falls between frames are not under-counted.
  auto near_lag = [&](double lag) {
    const size_t lo = static_cast<size_t>(lag);
    if (lo + 1 >= r.size()) return r[std::min(lo, r.size() - 1)];
    return std::max(r[lo], r[lo + 1]);
  };
  // Score every period in range; the prior picks among octave-related peaks. A score of
  // zero (no periodicity at all: a lone click, DC) means there is no tempo.
  double best_score = 0.0;
  size_t best_lag = 0;
  for (size_t lag = static_cast<size_t>(std::ceil(min_lag)); lag <= static_cast<size_t>(max_lag);
       ++lag) {
    if (lag + 1 >= r.size() || r[lag] <= r[lag - 1] || r[lag] < r[lag + 1]) continue;  // peaks only
    const double bpm = 60.0 * frame_rate / static_cast<double>(lag);
    const double octaves = std::log2(bpm / options.prior_bpm) / options.prior_octaves;
    // A beat period is backed by its double (the bar level) and its half (the subdivision):
    // this rejects dotted periods (2/3 of the beat) that a plain peak pick can take.
    const double period = PeakNear(r, lag - 1, lag + 1);
    const double twice =
        2 * period + 1 < static_cast<double>(r.size()) ? near_lag(2 * period) : r[lag];
    const double subdivision = near_lag(period / 2);
    const double score = (r[lag] + twice + 0.5 * subdivision) * std::exp(-0.5 * octaves * octaves);
    if (score > best_score) {
      best_score = score;
      best_lag = lag;
    }
  }
  if (best_lag == 0) return std::nullopt;

  // Refine: the peak at the largest multiple within reach pins the period down best.
  double period = PeakNear(r, best_lag - 1, best_lag + 1);
  for (int k = 4; k >= 2; --k) {
    const double target = period * k;
    if (target + 2 < static_cast<double>(r.size())) {
      const size_t lo = static_cast<size_t>(target - k), hi = static_cast<size_t>(target + k);
      const double peak = PeakNear(r, lo, hi);
      if (peak > 0) period = peak / k;
      break;
    }
  }

  RhythmResult out;
  out.bpm = 60.0 * frame_rate / period;
  // Confidence on the mean-removed envelope: a rectified envelope of noise correlates with
  // itself at every lag by its squared mean, which says nothing about a pulse.
  const double mean_e = std::accumulate(e.begin(), e.end(), 0.0) / static_cast<double>(n);
  const double centred0 = r[0] - mean_e * mean_e;
  const double at_period = std::max(r[best_lag], near_lag(period));
  out.confidence =
      centred0 > 0 ? std::clamp((at_period - mean_e * mean_e) / centred0, 0.0, 1.0) : 0.0;
  // Pulse evidence: onsets stand out from the envelope (a high coefficient of variation).
  // Steady tones and noise give a rectified, noise-like envelope (about 1.5 to 2); music
  // with a beat gives 3 and more.
  double var_e = 0.0;
  for (double v : e) var_e += (v - mean_e) * (v - mean_e);
  const double variation = mean_e > 0 ? std::sqrt(var_e / static_cast<double>(n)) / mean_e : 0.0;
  if (variation < options.min_variation) return std::nullopt;

  // Beats by dynamic programming over the envelope.
  const double tightness = 100.0;
  std::vector<double> score(n, 0.0);
  std::vector<long> from(n, -1);
  const long lo = static_cast<long>(std::round(period / 2)),
             hi = static_cast<long>(std::round(period * 2));
  for (size_t i = 0; i < n; ++i) {
    double best = 0.0;
    long arg = -1;
    for (long d = lo; d <= hi && d <= static_cast<long>(i); ++d) {
      const double dev = std::log(static_cast<double>(d) / period);
      const double s = score[i - static_cast<size_t>(d)] - tightness * dev * dev;
      if (arg < 0 || s > best) {
        best = s;
        arg = static_cast<long>(i) - d;
      }
    }
    score[i] = e[i] + (arg >= 0 ? std::max(0.0, best) : 0.0);
    from[i] = arg >= 0 && best > 0.0 ? arg : -1;
  }
  size_t end = n - 1;
  for (size_t i = n > static_cast<size_t>(period) ? n - static_cast<size_t>(period) : 0; i < n;
       ++i) {
    if (score[i] > score[end]) end = i;
  }
  for (long i = static_cast<long>(end); i >= 0; i = from[static_cast<size_t>(i)]) {
    out.beats.push_back(time_offset + static_cast<double>(i) / frame_rate);
  }
  std::reverse(out.beats.begin(), out.beats.end());

  // Onsets: peaks above mean + one standard deviation, at least 50 ms apart.
  const double mean = mean_e;
  double var = 0.0;
  for (double v : e) var += (v - mean) * (v - mean);
  const double threshold = mean + std::sqrt(var / static_cast<double>(n));
  const size_t gap = std::max<size_t>(1, static_cast<size_t>(0.05 * frame_rate));
  size_t onsets = 0, last = 0;
  bool any = false;
  for (size_t i = 1; i + 1 < n; ++i) {
    if (e[i] > threshold && e[i] >= e[i - 1] && e[i] > e[i + 1] && (!any || i - last >= gap)) {
      ++onsets;
      last = i;
      any = true;
    }
  }
  out.onset_rate = static_cast<double>(onsets) * frame_rate / static_cast<double>(n);

  // How much of the onset strength sits on the beats.
  const long window = static_cast<long>(0.07 * frame_rate);
  std::vector<bool> near(n, false);
  for (double t : out.beats) {
    const long c = static_cast<long>(std::lround((t - time_offset) * frame_rate));
    for (long i = std::max(0L, c - window); i <= std::min(static_cast<long>(n) - 1, c + window);
         ++i) {
      near[static_cast<size_t>(i)] = true;
    }
  }
  double on = 0.0, all = 0.0;
  for (size_t i = 0; i < n; ++i) {
    all += e[i];
    if (near[i]) on += e[i];
  }
  out.beat_alignment = all > 0 ? on / all : 0.0;
  return out;
}

}  // namespace timbre::dsp
