// Closed-form checks of the shared DSP: each expected value follows from the signal's
// construction (a sine's frequency, noise's flatness, a click train's period, a chord's notes).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <tuple>

#include "timbre/dsp/mel.h"
#include "timbre/dsp/rhythm.h"
#include "timbre/dsp/spectral.h"
#include "timbre/dsp/stft.h"
#include "timbre/dsp/tonal.h"

namespace timbre::dsp {
namespace {

constexpr double kRate = 44100.0;

std::vector<float> Sine(double hz, double seconds, double amp = 0.5) {
  std::vector<float> x(static_cast<size_t>(seconds * kRate));
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>(amp * std::sin(2 * M_PI * hz * i / kRate));
  return x;
}

std::vector<float> Notes(const std::vector<double>& midi, double seconds) {
  std::vector<float> x(static_cast<size_t>(seconds * kRate), 0.0f);
  for (double m : midi) {
    const double hz = 440.0 * std::pow(2.0, (m - 69) / 12.0);
    for (int h = 1; h <= 3; ++h) {  // a few harmonics, as instruments have
      for (size_t i = 0; i < x.size(); ++i) {
        x[i] += static_cast<float>(0.1 / h * std::sin(2 * M_PI * hz * h * i / kRate));
      }
    }
  }
  return x;
}

std::vector<float> Clicks(double bpm, double seconds) {
  std::vector<float> x(static_cast<size_t>(seconds * kRate), 0.0f);
  const double period = 60.0 / bpm * kRate;
  for (double t = 0; t < static_cast<double>(x.size()) - 200; t += period) {
    for (size_t i = 0; i < 200; ++i) {
      x[static_cast<size_t>(t) + i] = static_cast<float>(
          0.8 * std::exp(-static_cast<double>(i) / 30.0) * ((i % 2) ? 1.0 : -1.0));
    }
  }
  return x;
}

template <typename Fn>
void ForFrames(const std::vector<float>& x, StftSpec spec, Fn fn) {
  Stft stft(spec, kRate, fn);
  stft.Add(x.data(), x.size());
  stft.Finish();
}

TEST(StftTest, SineLandsOnItsFrequency) {
  for (double hz : {220.0, 1000.0, 5512.5}) {
    size_t frames = 0;
    ForFrames(Sine(hz, 1.0), {2048, 1024}, [&](const SpectrumFrame& f) {
      ++frames;
      size_t best = 0;
      for (size_t k = 0; k < f.bins; ++k) {
        if (f.magnitude[k] > f.magnitude[best]) best = k;
      }
      EXPECT_NEAR(best * f.bin_hz(), hz, f.bin_hz()) << hz;
      if (hz == 5512.5 && f.index == 0) {
        EXPECT_NEAR(f.magnitude[best], 0.5, 0.01);  // on a bin: window-normalised
      }
    });
    EXPECT_EQ(frames, (44100 - 2048) / 1024 + 1 + 1);  // full frames, then the padded tail
  }
}

TEST(StftTest, ShortInputGivesOnePaddedFrameAndEmptyGivesNone) {
  size_t frames = 0;
  ForFrames(Sine(440, 0.01), {2048, 512}, [&](const SpectrumFrame&) { ++frames; });
  EXPECT_EQ(frames, 1u);
  frames = 0;
  ForFrames({}, {2048, 512}, [&](const SpectrumFrame&) { ++frames; });
  EXPECT_EQ(frames, 0u);
}

TEST(SpectralShapeTest, WhiteNoiseIsFlatAndSineIsNot) {
  std::mt19937 rng(5);
  std::normal_distribution<float> n(0.0f, 0.2f);
  std::vector<float> noise(44100);
  for (auto& v : noise) v = n(rng);
  SpectralShape shape;
  RunningStats flat_noise, flat_sine, centroid;
  ForFrames(noise, {2048, 1024},
            [&](const SpectrumFrame& f) { flat_noise.Add(shape.Measure(f).flatness); });
  SpectralShape shape2;
  ForFrames(Sine(1000, 1.0), {2048, 1024}, [&](const SpectrumFrame& f) {
    const FrameShape s = shape2.Measure(f);
    flat_sine.Add(s.flatness);
    centroid.Add(s.centroid_hz);
    if (f.index + 2 < 44100 / 1024) {                 // full frames, not the zero-padded tail
      EXPECT_NEAR(s.zcr, 2.0 * 1000 / kRate, 0.002);  // two crossings a period
      EXPECT_NEAR(s.rms_db, 20 * std::log10(0.5 / std::sqrt(2.0)), 0.2);
    }
  });
  // Power-spectrum flatness of Gaussian noise is about exp(-gamma) = 0.56; a sine's is ~0.
  EXPECT_GT(flat_noise.mean(), 0.45);
  EXPECT_LT(flat_sine.mean(), 0.01);
  EXPECT_NEAR(centroid.mean(), 1000.0, 60.0);
}

TEST(SpectralShapeTest, SumOfExtremesEqualsASort) {
  std::mt19937 rng(9);
  std::exponential_distribution<float> magnitude(3.0f);
  std::uniform_int_distribution<int> level(0, 3);
  std::vector<float> scratch;
  for (size_t n : {5u, 6u, 9u, 19u, 37u, 74u, 149u, 298u, 1000u}) {
    for (int kind = 0; kind < 4; ++kind) {
      std::vector<float> v(n);
      for (auto& x : v) {
        switch (kind) {
          case 0:
            x = magnitude(rng);
            break;  // spread like a spectrum
          case 1:
            x = static_cast<float>(level(rng));
            break;  // many ties, zeros
          case 2:
            x = 0.25f;
            break;  // all equal
          default:
            x = magnitude(rng) * 1e-30f + 1e-38f;
            break;  // tiny and subnormal
        }
      }
      std::vector<float> sorted = v;
      std::sort(sorted.begin(), sorted.end());
      for (size_t k : {size_t{1}, n / 5, n / 2}) {
        double low = 0.0, high = 0.0;
        for (size_t i = 0; i < k; ++i) {
          low += sorted[i];
          high += sorted[n - 1 - i];
        }
        const ExtremeSums got = SumOfExtremes(v.data(), n, k, scratch);
        EXPECT_NEAR(got.low, low, 1e-12 * std::max(1.0, low)) << n << " " << kind << " " << k;
        EXPECT_NEAR(got.high, high, 1e-12 * std::max(1.0, high)) << n << " " << kind << " " << k;
      }
    }
  }
}

TEST(SpectralShapeTest, ContrastIsHighForPeaksAndLowForNoise) {
  std::mt19937 rng(5);
  std::normal_distribution<float> n(0.0f, 0.2f);
  std::vector<float> noise(44100);
  for (auto& v : noise) v = n(rng);
  std::vector<float> tones(44100, 0.0f);
  for (double hz : {300.0, 600.0, 1200.0, 2400.0, 4800.0, 9600.0}) {
    const auto t = Sine(hz, 1.0, 0.1);
    for (size_t i = 0; i < tones.size(); ++i) tones[i] += t[i];
  }
  for (auto [audio, lo, hi] : {std::tuple{noise, 5.0, 25.0}, std::tuple{tones, 40.0, 200.0}}) {
    SpectralShape shape;
    std::array<RunningStats, kContrastBands> contrast;
    ForFrames(audio, {2048, 1024}, [&](const SpectrumFrame& f) {
      const FrameShape s = shape.Measure(f);
      for (size_t b = 0; b < kContrastBands; ++b) contrast[b].Add(s.contrast_db[b]);
    });
    for (size_t b = 0; b < kContrastBands; ++b) {
      EXPECT_GT(contrast[b].mean(), lo) << b;
      EXPECT_LT(contrast[b].mean(), hi) << b;
    }
  }
}

TEST(SpectralShapeTest, SilenceIsMarkedAndFinite) {
  SpectralShape shape;
  ForFrames(std::vector<float>(8192, 0.0f), {2048, 1024}, [&](const SpectrumFrame& f) {
    const FrameShape s = shape.Measure(f);
    EXPECT_TRUE(s.silent);
    EXPECT_EQ(s.rms_db, -120.0);
    EXPECT_TRUE(std::isfinite(s.flux));
  });
}

TEST(MfccTest, FiniteOnSilenceAndDistinguishesTimbres) {
  Mfcc mfcc(1025, kRate);
  std::vector<float> a(13), b(13), silent(13);
  std::vector<float> zeros(1025, 0.0f);
  mfcc.Compute(zeros.data(), silent.data());
  for (float v : silent) EXPECT_TRUE(std::isfinite(v));
  ForFrames(Sine(300, 0.1), {2048, 2048},
            [&](const SpectrumFrame& f) { mfcc.Compute(f.magnitude, a.data()); });
  ForFrames(Sine(3000, 0.1), {2048, 2048},
            [&](const SpectrumFrame& f) { mfcc.Compute(f.magnitude, b.data()); });
  double d = 0;
  for (size_t i = 1; i < 13; ++i) d += (a[i] - b[i]) * (a[i] - b[i]);
  EXPECT_GT(d, 1.0);
}

TEST(RunningStatsTest, MatchesDirectFormulas) {
  RunningStats s;
  for (double v : {1.0, 2.0, 3.0, 4.0}) s.Add(v);
  EXPECT_DOUBLE_EQ(s.mean(), 2.5);
  EXPECT_NEAR(s.variance(), 5.0 / 3.0, 1e-12);
  RunningCovariance c(2);
  const float xs[][2] = {{1, 2}, {2, 4}, {3, 6}};
  for (const auto& x : xs) c.Add(x);
  const auto cov = c.Covariance();
  EXPECT_NEAR(cov[0], 1.0, 1e-9);
  EXPECT_NEAR(cov[1], 2.0, 1e-9);
  EXPECT_NEAR(cov[3], 4.0, 1e-9);
}

std::optional<RhythmResult> RhythmOf(const std::vector<float>& x, RhythmOptions options = {}) {
  OnsetDetector od(1025, kRate);
  ForFrames(x, {2048, 512}, [&](const SpectrumFrame& f) { od.AddFrame(f); });
  return AnalyzeRhythm(od.envelope(), kRate / 512, 1024 / kRate, options);
}

TEST(RhythmTest, ClickTrainGivesItsTempo) {
  for (double bpm : {90.0, 120.0, 150.0}) {
    auto r = RhythmOf(Clicks(bpm, 20.0));
    ASSERT_TRUE(r.has_value()) << bpm;
    EXPECT_NEAR(r->bpm, bpm, bpm * 0.01) << bpm;
    EXPECT_GT(r->confidence, 0.3);
    EXPECT_NEAR(r->onset_rate, bpm / 60.0, 0.3);
    // Beats fall on the clicks: spacing is the period.
    ASSERT_GT(r->beats.size(), 10u);
    const double gap =
        (r->beats.back() - r->beats.front()) / static_cast<double>(r->beats.size() - 1);
    EXPECT_NEAR(gap, 60.0 / bpm, 0.01);
    EXPECT_GT(r->beat_alignment, 0.5);
  }
}

TEST(RhythmTest, RangeBoundsTheAnswer) {
  RhythmOptions slow;
  slow.min_bpm = 40;
  slow.max_bpm = 100;
  auto r = RhythmOf(Clicks(160, 20.0), slow);
  ASSERT_TRUE(r.has_value());
  EXPECT_NEAR(r->bpm, 80.0, 1.0);  // the octave below, inside the range
}

TEST(RhythmTest, NoPulseNoTempo) {
  EXPECT_FALSE(RhythmOf(std::vector<float>(44100 * 10, 0.0f)).has_value());  // silence
  EXPECT_FALSE(RhythmOf(Sine(440, 0.5)).has_value());                        // too short
  std::vector<float> dc(44100 * 10, 0.5f);
  EXPECT_FALSE(RhythmOf(dc).has_value());
  std::vector<float> click(44100 * 10, 0.0f);
  click[1000] = 1.0f;  // a single click: no period to find
  auto r = RhythmOf(click);
  if (r) {
    EXPECT_LT(r->confidence, 0.2);
  }
}

TEST(TonalTest, ChordsGiveTheirKey) {
  // I - IV - V - I in C major, and i - iv - V - i in A minor (with its raised leading tone).
  std::vector<float> major, minor;
  for (const auto& chord : std::vector<std::vector<double>>{
           {48, 60, 64, 67}, {53, 60, 65, 69}, {55, 59, 62, 67}, {48, 60, 64, 67}}) {
    auto x = Notes(chord, 1.0);
    major.insert(major.end(), x.begin(), x.end());
  }
  for (const auto& chord : std::vector<std::vector<double>>{
           {45, 57, 60, 64}, {50, 57, 62, 65}, {52, 56, 59, 64}, {45, 57, 60, 64}}) {
    auto x = Notes(chord, 1.0);
    minor.insert(minor.end(), x.begin(), x.end());
  }
  for (auto [audio, tonic, is_minor] : {std::tuple{major, 0, false}, std::tuple{minor, 9, true}}) {
    ChromaAccumulator acc;
    ForFrames(audio, {4096, 2048}, [&](const SpectrumFrame& f) { acc.AddFrame(f); });
    const TonalSummary s = acc.Finish();
    EXPECT_NEAR(s.tuning_hz, 440.0, 1.0);
    auto key = EstimateKey(s.chroma, KeyProfile::kKrumhansl);
    ASSERT_TRUE(key.has_value());
    EXPECT_EQ(key->tonic, tonic) << key->Name();
    EXPECT_EQ(key->minor, is_minor) << key->Name();
    EXPECT_GT(key->strength, 0.5);
  }
}

TEST(TonalTest, DetunedRecordingFindsItsTuning) {
  ChromaAccumulator acc;
  // A4 played at 446 Hz (+23.4 cents), with its fifth.
  std::vector<float> x = Sine(446.0, 3.0, 0.3);
  const auto e = Sine(446.0 * 1.4983, 3.0, 0.2);
  for (size_t i = 0; i < x.size(); ++i) x[i] += e[i];
  ForFrames(x, {4096, 2048}, [&](const SpectrumFrame& f) { acc.AddFrame(f); });
  const TonalSummary s = acc.Finish();
  EXPECT_NEAR(s.tuning_hz, 446.0, 1.5);
  EXPECT_DOUBLE_EQ(s.chroma[9], 1.0);  // A is still A
}

TEST(TonalTest, SilenceAndNoiseHaveNoKey) {
  ChromaAccumulator acc;
  ForFrames(std::vector<float>(44100, 0.0f), {4096, 2048},
            [&](const SpectrumFrame& f) { acc.AddFrame(f); });
  const TonalSummary s = acc.Finish();
  EXPECT_EQ(s.tonal_frames, 0u);
  EXPECT_FALSE(EstimateKey(s.chroma, KeyProfile::kTemperley).has_value());
  std::array<double, 12> flat;
  flat.fill(1.0);
  EXPECT_FALSE(EstimateKey(flat, KeyProfile::kKrumhansl).has_value());
  const KeyEstimate eb_minor{3, true, 0.9};
  EXPECT_EQ(eb_minor.Name(), "Eb minor");
}

}  // namespace
}  // namespace timbre::dsp
