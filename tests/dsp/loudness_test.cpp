#include "timbre/dsp/loudness.h"

#include <ebur128.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "test_support.h"
#include "timbre/audio/decode.h"
#include "timbre/dsp/true_peak.h"

namespace timbre::dsp {
namespace {

constexpr double kPi = 3.14159265358979323846;

std::vector<float> Sine(double freq, double amplitude, double seconds, int rate, int channels,
                        double phase = 0.0) {
  const size_t n = static_cast<size_t>(seconds * rate);
  std::vector<float> out(n * channels);
  for (size_t i = 0; i < n; ++i) {
    const float v = static_cast<float>(amplitude * std::sin(2 * kPi * freq * i / rate + phase));
    for (int c = 0; c < channels; ++c) out[i * channels + c] = v;
  }
  return out;
}

LoudnessResult Measure(const std::vector<float>& audio, int rate, int channels,
                       LoudnessOptions options = {}, size_t block = 1000) {
  auto meter = LoudnessMeter::Create(rate, channels, options);
  EXPECT_TRUE(meter.ok());
  const size_t frames = audio.size() / channels;
  for (size_t i = 0; i < frames; i += block) {
    (*meter)->Add(audio.data() + i * channels, std::min(block, frames - i));
  }
  return (*meter)->Finish();
}

// libebur128 over the whole signal: the reference the optimised true peak must equal.
double ReferenceTruePeak(const std::vector<float>& audio, int rate, int channels) {
  ebur128_state* st = ebur128_init(channels, rate, EBUR128_MODE_TRUE_PEAK);
  ebur128_add_frames_float(st, audio.data(), audio.size() / channels);
  double peak = 0.0;
  for (int c = 0; c < channels; ++c) {
    double p = 0.0;
    ebur128_true_peak(st, c, &p);
    peak = std::max(peak, p);
  }
  ebur128_destroy(&st);
  return peak;
}

// EBU Tech 3341 case 1: a 1 kHz sine at -23 dBFS on both channels measures -23.0 LUFS.
TEST(LoudnessTest, GoldenMinus23) {
  const auto audio = Sine(1000.0, std::pow(10.0, -23.0 / 20.0), 20.0, 48000, 2);
  const LoudnessResult r = Measure(audio, 48000, 2);
  ASSERT_TRUE(r.integrated_lufs.has_value());
  EXPECT_NEAR(*r.integrated_lufs, -23.0, 0.1);
  EXPECT_NEAR(ReplayGainDb(*r.integrated_lufs), 5.0, 0.1);
  EXPECT_NEAR(r.sample_peak, std::pow(10.0, -23.0 / 20.0), 1e-3);
  ASSERT_TRUE(r.loudness_range_lu.has_value());
  EXPECT_NEAR(*r.loudness_range_lu, 0.0, 0.1);  // a steady tone has no range
}

TEST(LoudnessTest, ResultDoesNotDependOnBlockSize) {
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.0f, 0.1f);
  std::vector<float> audio(44100 * 2 * 8);
  for (auto& s : audio) s = noise(rng);
  const LoudnessResult a = Measure(audio, 44100, 2, {}, 1);
  const LoudnessResult b = Measure(audio, 44100, 2, {}, 4410);
  const LoudnessResult c = Measure(audio, 44100, 2, {}, 100000);
  EXPECT_DOUBLE_EQ(*a.integrated_lufs, *b.integrated_lufs);
  EXPECT_DOUBLE_EQ(*a.integrated_lufs, *c.integrated_lufs);
  EXPECT_DOUBLE_EQ(a.true_peak, c.true_peak);
}

// Integrated loudness (and album loudness) come from the block histogram: for one track it
// must equal libebur128's own gated loudness over the same audio.
double ReferenceIntegrated(const std::vector<float>& audio, int rate, int channels, int mode) {
  ebur128_state* st = ebur128_init(channels, rate, mode);
  ebur128_add_frames_float(st, audio.data(), audio.size() / channels);
  double v = 0.0;
  ebur128_loudness_global(st, &v);
  ebur128_destroy(&st);
  return v;
}

TEST(LoudnessTest, HistogramReproducesIntegratedLoudness) {
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  std::vector<float> audio(44100 * 30);
  for (size_t i = 0; i < audio.size(); ++i) {
    const double envelope = 0.02 + 0.3 * std::fabs(std::sin(i / 44100.0));  // loud and quiet
    audio[i] = static_cast<float>(envelope * noise(rng));
  }
  const LoudnessResult r = Measure(audio, 44100, 1);
  ASSERT_TRUE(r.integrated_lufs.has_value());
  // Same bins as libebur128's histogram mode: the same value to rounding.
  EXPECT_NEAR(*r.integrated_lufs,
              ReferenceIntegrated(audio, 44100, 1, EBUR128_MODE_I | EBUR128_MODE_HISTOGRAM), 1e-9);
  // Within the bins' resolution of the exact (block list) computation.
  EXPECT_NEAR(*r.integrated_lufs, ReferenceIntegrated(audio, 44100, 1, EBUR128_MODE_I), 0.05);
  EXPECT_GT(r.histogram.blocks(), 250u);  // 30 s = 297 blocks of 400 ms, 100 ms apart
}

TEST(LoudnessTest, AlbumOfTwoTracksEqualsTheirConcatenation) {
  const auto loud = Sine(440, 0.5, 10, 44100, 2);
  const auto quiet = Sine(440, 0.05, 10, 44100, 2);
  LoudnessResult a = Measure(loud, 44100, 2);
  const LoudnessResult b = Measure(quiet, 44100, 2);
  std::vector<float> both = loud;
  both.insert(both.end(), quiet.begin(), quiet.end());
  const LoudnessResult whole = Measure(both, 44100, 2);
  a.histogram.Merge(b.histogram);
  // The joined signal has a few blocks straddling the join; otherwise the same blocks.
  EXPECT_NEAR(*a.histogram.IntegratedLufs(), *whole.integrated_lufs, 0.1);
}

// libebur128 over the whole signal in histogram mode: the measurement timbre's meter
// reproduces (its own K-weighting, blocks, windows and gates).
struct Reference {
  double integrated = 0.0;
  double range = 0.0;
  double sample_peak = 0.0;
};
Reference ReferenceOf(const std::vector<float>& audio, int rate, int channels) {
  ebur128_state* st = ebur128_init(
      channels, rate,
      EBUR128_MODE_I | EBUR128_MODE_LRA | EBUR128_MODE_SAMPLE_PEAK | EBUR128_MODE_HISTOGRAM);
  // In 100 ms pieces and a ragged end, as a decoder delivers them.
  const size_t frames = audio.size() / channels;
  const size_t step = static_cast<size_t>((rate + 5) / 10) * 3 + 17;
  for (size_t i = 0; i < frames; i += step) {
    ebur128_add_frames_float(st, audio.data() + i * channels, std::min(step, frames - i));
  }
  Reference r;
  ebur128_loudness_global(st, &r.integrated);
  ebur128_loudness_range(st, &r.range);
  for (int c = 0; c < channels; ++c) {
    double p = 0.0;
    ebur128_sample_peak(st, c, &p);
    r.sample_peak = std::max(r.sample_peak, p);
  }
  ebur128_destroy(&st);
  return r;
}

// Noise under an envelope that swings over 30 dB, different on every channel.
std::vector<float> SwingingNoise(double seconds, int rate, int channels, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  const size_t n = static_cast<size_t>(seconds * rate);
  std::vector<float> out(n * channels);
  for (size_t i = 0; i < n; ++i) {
    for (int c = 0; c < channels; ++c) {
      const double t = static_cast<double>(i) / rate;
      const double envelope = 0.01 + 0.3 * std::pow(std::sin(t * (0.4 + 0.1 * c)), 2);
      out[i * channels + c] = static_cast<float>(envelope * noise(rng));
    }
  }
  return out;
}

TEST(LoudnessTest, EqualsLibebur128) {
  struct Case {
    const char* name;
    int rate;
    int channels;
    double seconds;
  };
  for (const Case& c : std::vector<Case>{{"mono 44.1 kHz", 44100, 1, 40},
                                         {"stereo 44.1 kHz", 44100, 2, 40},
                                         {"stereo 48 kHz", 48000, 2, 25},
                                         {"3 channels 22.05 kHz", 22050, 3, 25},
                                         {"quad 48 kHz", 48000, 4, 12},
                                         {"5.0 96 kHz", 96000, 5, 8},
                                         {"5.1 48 kHz (LFE not counted)", 48000, 6, 12},
                                         {"8 channels 44.1 kHz", 44100, 8, 6},
                                         {"stereo 192 kHz", 192000, 2, 5},
                                         {"1.5 s, under one short-term window", 44100, 2, 1.5}}) {
    const auto audio = SwingingNoise(c.seconds, c.rate, c.channels, 5);
    const LoudnessResult r = Measure(audio, c.rate, c.channels, {}, 777);
    const Reference ref = ReferenceOf(audio, c.rate, c.channels);
    ASSERT_TRUE(r.integrated_lufs.has_value()) << c.name;
    EXPECT_NEAR(*r.integrated_lufs, ref.integrated, 1e-9) << c.name;
    ASSERT_TRUE(r.loudness_range_lu.has_value()) << c.name;
    EXPECT_NEAR(*r.loudness_range_lu, ref.range, 1e-9) << c.name;
    EXPECT_EQ(r.sample_peak, ref.sample_peak) << c.name;
    EXPECT_DOUBLE_EQ(r.true_peak,
                     std::max(ReferenceTruePeak(audio, c.rate, c.channels), ref.sample_peak))
        << c.name;
  }
  // The cases measure something: a range of several LU where the level swings.
  const auto swing = SwingingNoise(40, 44100, 2, 5);
  EXPECT_GT(*Measure(swing, 44100, 2).loudness_range_lu, 3.0);
}

TEST(LoudnessTest, SilenceAfterMusicStaysFinite) {
  // The filter's state decays through subnormal numbers over a long silence.
  std::vector<float> audio = Sine(60, 0.8, 2, 44100, 2);
  audio.resize(audio.size() + 44100 * 2 * 60, 0.0f);
  audio.push_back(1e-38f);  // a subnormal-sized sample at the very end
  audio.push_back(-1e-38f);
  const LoudnessResult r = Measure(audio, 44100, 2);
  ASSERT_TRUE(r.integrated_lufs.has_value());
  EXPECT_TRUE(std::isfinite(*r.integrated_lufs));
  EXPECT_NEAR(*r.integrated_lufs, ReferenceOf(audio, 44100, 2).integrated, 1e-9);
}

TEST(LoudnessTest, HistogramRoundTripsAndRejectsGarbage) {
  LoudnessHistogram h;
  h.AddBlock(-23.04);
  h.AddBlock(-23.01);
  h.AddBlock(-80.0);                                    // under the absolute gate: not counted
  h.AddBlock(40.0);                                     // beyond the top bin: counted in it
  h.AddBlock(std::numeric_limits<double>::infinity());  // a filter run past its range
  h.AddBlock(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(h.blocks(), 3u);
  auto back = LoudnessHistogram::Decode(h.Encode());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->counts(), h.counts());
  EXPECT_FALSE(LoudnessHistogram::Decode("12:3,oops").ok());
  EXPECT_FALSE(LoudnessHistogram::Decode("5000:1").ok());
  EXPECT_TRUE(LoudnessHistogram::Decode("").ok());
}

struct PeakCase {
  const char* name;
  std::vector<float> audio;
  int rate;
  int channels;
};

// The optimised true peak skips chunks; it must still equal the exhaustive computation.
TEST(TruePeakTest, EqualsExhaustiveLibebur128) {
  std::vector<PeakCase> cases;
  // A sine at a quarter of the rate, sampled 45 degrees off its peaks: the classic
  // inter-sample overshoot (true peak 3 dB over the sample peak).
  cases.push_back({"quarter-rate sine", Sine(11025, 0.5, 3, 44100, 2, kPi / 4), 44100, 2});
  // A loud burst early on, then quiet: every chunk after the burst can be skipped.
  std::vector<float> burst = Sine(997, 0.01, 20, 44100, 2);
  for (size_t i = 44100 * 2; i < 48000 * 2; ++i) burst[i] *= 60.0f;
  cases.push_back({"burst", burst, 44100, 2});
  // Alternating full-scale pattern, the worst case for interpolation overshoot.
  std::vector<float> worst(48000);
  for (size_t i = 0; i < worst.size(); ++i) worst[i] = (i / 2) % 2 == 0 ? 0.9f : -0.9f;
  cases.push_back({"worst case", worst, 48000, 1});
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> noise(96000 * 2 * 3);
  for (size_t i = 0; i < noise.size(); ++i)
    noise[i] = u(rng) * (i < noise.size() / 2 ? 0.2f : 0.7f);
  cases.push_back({"noise at 96 kHz (2x)", noise, 96000, 2});
  cases.push_back({"decaying", Sine(3000, 0.9, 6, 44100, 1), 44100, 1});
  for (size_t i = 0; i < cases.back().audio.size(); ++i) {
    cases.back().audio[i] *= static_cast<float>(std::exp(-i / 44100.0));
  }
  for (const auto& c : cases) {
    const LoudnessResult fast = Measure(c.audio, c.rate, c.channels);
    LoudnessOptions exhaustive;
    exhaustive.exhaustive_true_peak = true;
    const LoudnessResult full = Measure(c.audio, c.rate, c.channels, exhaustive);
    const double reference = ReferenceTruePeak(c.audio, c.rate, c.channels);
    EXPECT_DOUBLE_EQ(fast.true_peak, reference) << c.name;
    EXPECT_DOUBLE_EQ(full.true_peak, reference) << c.name;
    EXPECT_GE(fast.true_peak, fast.sample_peak) << c.name;
  }
  // The optimisation does skip: the burst case runs the interpolator on a few chunks only.
  EXPECT_LT(Measure(cases[1].audio, 44100, 2).true_peak_fraction, 0.2);
  // And the quarter-rate sine shows the ~3 dB overshoot it exists to catch (libebur128's
  // short filter adds a little ripple on top of the ideal 3.01 dB).
  const LoudnessResult q = Measure(cases[0].audio, 44100, 2);
  EXPECT_NEAR(20 * std::log10(q.true_peak / q.sample_peak), 3.01, 0.2);
}

TEST(TruePeakTest, InterpolatorBoundsFollowTheRate) {
  // libebur128's 49-tap upsampler: 4 branches below 96 kHz, 2 below 192 kHz, none above.
  const TruePeakInterpolator at44(44100, 2), at96(96000, 2), at192(192000, 2);
  EXPECT_EQ(at44.factor(), 4);
  EXPECT_EQ(at44.history(), 11u);
  EXPECT_NEAR(at44.gain(), 1.8641815719705122, 1e-12);
  EXPECT_EQ(at96.factor(), 2);
  EXPECT_EQ(at96.history(), 23u);
  EXPECT_NEAR(at96.gain(), 2.306831424296323, 1e-12);
  EXPECT_EQ(at192.factor(), 1);
  // A skipped stretch leaves the delay line as running the audio through would have.
  const auto audio = Sine(11025, 0.5, 0.2, 44100, 2, kPi / 4);
  const size_t frames = audio.size() / 2, half = frames / 2;
  TruePeakInterpolator through(44100, 2), resumed(44100, 2);
  through.Process(audio.data(), half);
  resumed.Skip(audio.data(), half);
  EXPECT_EQ(through.Process(audio.data() + half * 2, frames - half),
            resumed.Process(audio.data() + half * 2, frames - half));
}

TEST(TruePeakTest, EqualsExhaustiveOnDecodedMusic) {
  timbre::testing::TempDir dir;
  // A chord with a decaying envelope and noise, through a lossy codec, as real music is.
  const std::string cmd =
      "ffmpeg -nostdin -v error -y -f lavfi -i "
      "'aevalsrc=0.3*sin(2*PI*220*t)*exp(-0.3*t)+0.2*sin(2*PI*277*t)+0.1*sin(2*PI*330*t)*sin(t):s="
      "44100:d=12' "
      "-f lavfi -i 'anoisesrc=a=0.05:d=12:r=44100' -filter_complex amix=inputs=2:normalize=0 "
      "-ac 2 -c:a libmp3lame -b:a 128k " +
      (dir / "m.mp3").string();
  ASSERT_EQ(timbre::testing::RunCommand(cmd).exit_code, 0);
  std::vector<float> audio;
  auto r =
      audio::DecodeFile(dir / "m.mp3", {{0, 0}}, nullptr, [&](size_t, const audio::AudioBlock& b) {
        audio.insert(audio.end(), b.samples, b.samples + b.frames * b.channels);
        return true;
      });
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(Measure(audio, 44100, 2).true_peak, ReferenceTruePeak(audio, 44100, 2));
}

TEST(LoudnessTest, SilenceAndShortInputHaveNoLoudness) {
  const LoudnessResult silent = Measure(std::vector<float>(44100 * 2 * 3, 0.0f), 44100, 2);
  EXPECT_FALSE(silent.integrated_lufs.has_value());
  EXPECT_FALSE(silent.loudness_range_lu.has_value());
  EXPECT_EQ(silent.true_peak, 0.0);
  const LoudnessResult short_one = Measure(Sine(440, 0.5, 0.2, 44100, 2), 44100, 2);
  EXPECT_FALSE(short_one.integrated_lufs.has_value());  // under one 400 ms block
  EXPECT_GT(short_one.sample_peak, 0.4);
  const LoudnessResult empty = Measure({}, 44100, 2);
  EXPECT_FALSE(empty.integrated_lufs.has_value());
  EXPECT_EQ(empty.sample_peak, 0.0);
}

TEST(LoudnessTest, UnderTheWeightingsRangeOnlyPeaksAreMeasured) {
  for (int rate : {16, 1000, 3000}) {
    const auto audio = Sine(rate / 20.0, 0.5, 10, rate, 1);
    const LoudnessResult r = Measure(audio, rate, 1);
    EXPECT_FALSE(r.weighted) << rate;
    EXPECT_FALSE(r.integrated_lufs.has_value()) << rate;
    EXPECT_FALSE(r.loudness_range_lu.has_value()) << rate;
    EXPECT_EQ(r.histogram.blocks(), 0u) << rate;
    EXPECT_NEAR(r.sample_peak, 0.5, 1e-3) << rate;
    EXPECT_TRUE(std::isfinite(r.true_peak)) << rate;
  }
  EXPECT_TRUE(Measure(Sine(440, 0.5, 2, 8000, 1), 8000, 1).weighted);
}

TEST(LoudnessTest, InvalidParametersAreRefused) {
  EXPECT_FALSE(LoudnessMeter::Create(0, 2).ok());
  EXPECT_FALSE(LoudnessMeter::Create(44100, 0).ok());
  EXPECT_FALSE(LoudnessMeter::Create(44100, 65).ok());
  EXPECT_EQ(LoudnessMeter::Create(-5, 1).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace timbre::dsp
