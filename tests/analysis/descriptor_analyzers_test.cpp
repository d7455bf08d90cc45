// rhythm, tonal and spectral on real decoded files: known tempo and key, and the inputs
// that have none (silence, DC, a clipped square wave, half a second, white noise, a single
// click) give defined outputs, never NaN or Inf.
#include <gtest/gtest.h>

#include <cmath>

#include "test_support.h"
#include "timbre/analysis/pipeline.h"
#include "timbre/analysis/registry.h"

namespace timbre::analysis {
namespace {

using timbre::testing::RunCommand;
using timbre::testing::ShellQuote;
using timbre::testing::TempDir;

class DescriptorAnalyzersTest : public ::testing::Test {
 protected:
  DescriptorAnalyzersTest() {
    RegisterBuiltinAnalyzers(registry_);
    pipeline_ = std::make_unique<Pipeline>(*DefaultPipeline(registry_));
  }

  // Renders an ffmpeg lavfi expression to a file and analyses it.
  TrackAnalysis Analyse(const std::string& source, const std::string& name,
                        const std::string& codec = "-c:a flac") {
    const auto path = dir_ / name;
    const auto r = RunCommand("ffmpeg -nostdin -v error -y -f lavfi -i " + ShellQuote(source) +
                              " " + codec + " " + ShellQuote(path.string()) + " 2>&1");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    TrackAnalysis t = pipeline_->Run(path);
    EXPECT_TRUE(t.status.ok()) << t.status.ToString();
    for (const auto& a : t.analyses) {
      for (const auto& [k, v] : a.output.numbers) {
        EXPECT_TRUE(std::isfinite(v)) << name << " " << a.provenance.analyzer << "." << k;
      }
    }
    return t;
  }

  static const Output& Of(const TrackAnalysis& t, const std::string& analyzer) {
    for (const auto& a : t.analyses) {
      if (a.provenance.analyzer == analyzer) return a.output;
    }
    static const Output kNone;
    ADD_FAILURE() << "no " << analyzer;
    return kNone;
  }

  TempDir dir_;
  Registry registry_;
  std::unique_ptr<Pipeline> pipeline_;
};

TEST_F(DescriptorAnalyzersTest, ClickTrackTempoThroughMp3) {
  // A kick-like click every 60/128 s over 20 s, through a lossy codec.
  const auto t = Analyse("aevalsrc=0.8*exp(-mod(t\\,60/128)*40)*sin(2*PI*90*t):s=44100:d=20",
                         "clicks.mp3", "-c:a libmp3lame -b:a 128k");
  const Output& r = Of(t, "rhythm");
  ASSERT_TRUE(r.numbers.count("bpm"));
  EXPECT_NEAR(r.numbers.at("bpm"), 128.0, 128 * 0.02);
  EXPECT_GT(r.numbers.at("bpm_confidence"), 0.2);
  EXPECT_GT(r.numbers.at("beat_count"), 35);
  EXPECT_FALSE(r.texts.at("beats_ms").empty());
}

TEST_F(DescriptorAnalyzersTest, TriadGivesItsKey) {
  // G major triad with a G bass, held: the key is G major.
  const auto t = Analyse(
      "aevalsrc=0.2*sin(2*PI*98*t)+0.15*sin(2*PI*196*t)+0.15*sin(2*PI*246.94*t)+0.15*sin(2*PI*293."
      "66*t):s=44100:d=6",
      "triad.flac");
  const Output& k = Of(t, "tonal");
  EXPECT_EQ(k.texts.at("key"), "G major");
  EXPECT_NEAR(k.numbers.at("tuning_frequency"), 440.0, 2.0);
  EXPECT_EQ(k.numbers.at("key_tonic"), 7);
  const Output& s = Of(t, "spectral");
  EXPECT_LT(s.numbers.at("flatness_mean"), 0.1);  // tonal, not noisy
  EXPECT_LT(s.numbers.at("silence_ratio"), 0.05);
}

TEST_F(DescriptorAnalyzersTest, SilenceHasNoTempoNoKey) {
  const auto t = Analyse("anullsrc=r=44100:cl=stereo:d=5", "silence.flac");
  EXPECT_EQ(Of(t, "rhythm").numbers.count("bpm"), 0u);
  EXPECT_EQ(Of(t, "rhythm").numbers.at("bpm_confidence"), 0.0);
  EXPECT_EQ(Of(t, "tonal").texts.count("key"), 0u);
  EXPECT_EQ(Of(t, "spectral").numbers.at("silence_ratio"), 1.0);
  EXPECT_FALSE(Of(t, "spectral").notes.empty());
}

TEST_F(DescriptorAnalyzersTest, DcHasNoTempo) {
  const auto t = Analyse("aevalsrc=0.5:s=44100:d=5", "dc.flac");
  EXPECT_EQ(Of(t, "rhythm").numbers.count("bpm"), 0u);
}

TEST_F(DescriptorAnalyzersTest, ClippedSquareWaveIsDefined) {
  const auto t = Analyse("aevalsrc=if(lt(mod(t\\,1/220)\\,1/440)\\,1\\,-1):s=44100:d=5",
                         "square.wav", "-c:a pcm_s16le");
  EXPECT_EQ(Of(t, "rhythm").numbers.count("bpm"), 0u);  // steady: no pulse
  ASSERT_TRUE(Of(t, "tonal").texts.count("key"));       // a pitch (A), so some key
  EXPECT_NEAR(Of(t, "spectral").numbers.at("zcr_mean"), 2.0 * 220 / 44100, 0.002);
}

TEST_F(DescriptorAnalyzersTest, HalfSecondClip) {
  const auto t =
      Analyse("sine=frequency=440:sample_rate=44100:duration=0.5", "short.ogg", "-c:a libvorbis");
  EXPECT_EQ(Of(t, "rhythm").numbers.count("bpm"), 0u);
  EXPECT_FALSE(Of(t, "rhythm").notes.empty());
  EXPECT_TRUE(Of(t, "spectral").numbers.count("mfcc_mean_0"));
}

TEST_F(DescriptorAnalyzersTest, WhiteNoise) {
  const auto t = Analyse("anoisesrc=a=0.3:c=white:r=44100:d=6", "noise.flac");
  const Output& s = Of(t, "spectral");
  EXPECT_GT(s.numbers.at("flatness_mean"), 0.4);
  const Output& r = Of(t, "rhythm");
  if (r.numbers.count("bpm")) {
    EXPECT_LT(r.numbers.at("bpm_confidence"), 0.3);  // whatever it finds, it is not sure
  }
}

TEST_F(DescriptorAnalyzersTest, SingleClick) {
  const auto t = Analyse("aevalsrc=if(between(t\\,2\\,2.002)\\,0.9\\,0):s=44100:d=6", "click.wav",
                         "-c:a pcm_s16le");
  const Output& r = Of(t, "rhythm");
  if (r.numbers.count("bpm")) {
    EXPECT_LT(r.numbers.at("bpm_confidence"), 0.3);
  }
  EXPECT_GT(Of(t, "spectral").numbers.at("silence_ratio"), 0.8);
}

TEST_F(DescriptorAnalyzersTest, VeryLowSampleRateHasPeaksButNoLoudness) {
  // 2 kHz audio: BS.1770's weighting is not defined under 3.4 kHz. The track is still
  // analysed, loudness says why it has no value, and every number stays finite.
  const auto t = Analyse("aevalsrc=0.5*sin(2*PI*220*t):s=2000:d=5", "low.wav", "-c:a pcm_s16le");
  const Output& l = Of(t, "loudness");
  EXPECT_FALSE(l.numbers.count("integrated"));
  EXPECT_NEAR(l.numbers.at("sample_peak"), 0.5, 0.01);
  ASSERT_FALSE(l.notes.empty());
  EXPECT_NE(l.notes.front().find("2000 Hz"), std::string::npos) << l.notes.front();
}

TEST_F(DescriptorAnalyzersTest, InvalidParameters) {
  const AnalyzerInfo& info = registry_.Find("rhythm")->info();
  auto params = ResolveParams(info, {{"min_bpm", 150}, {"max_bpm", 100}});
  ASSERT_TRUE(params.ok());  // each within its range...
  auto run = registry_.Find("rhythm")->Start(*params, {}, {nullptr, 0, 1, 44100});
  EXPECT_EQ(run.status().code(), StatusCode::kInvalidArgument);  // ...but not together
  EXPECT_FALSE(ResolveParams(registry_.Find("tonal")->info(), {{"profile", 3}}).ok());
}

TEST_F(DescriptorAnalyzersTest, RhythmAndSpectralShareOneStft) {
  EXPECT_EQ(*registry_.Find("rhythm")->info().stft, *registry_.Find("spectral")->info().stft);
  EXPECT_TRUE(registry_.Find("rhythm")->info().view == registry_.Find("spectral")->info().view);
  // One decode feeds every analyzer; the STFT's own time is reported apart from them.
  const auto t = Analyse("sine=frequency=440:sample_rate=44100:duration=3", "tone.flac");
  EXPECT_GT(t.stft_seconds, 0.0);
}

}  // namespace
}  // namespace timbre::analysis
