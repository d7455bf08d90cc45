// The waveform analyzer and the output checks the pipeline makes: the .dat file a viewer
// reads (header and values from a tone of known level), short and silent input, a bad
// parameter, and analyzers whose outputs break their declaration.
#include <gtest/gtest.h>

#include <cstring>

#include "test_support.h"
#include "timbre/analysis/pipeline.h"
#include "timbre/analysis/registry.h"

namespace timbre::analysis {
namespace {

using timbre::testing::MakeTone;
using timbre::testing::TempDir;

struct Dat {
  int32_t version = 0;
  uint32_t flags = 0;
  int32_t rate = 0;
  int32_t per_column = 0;
  uint32_t columns = 0;
  std::vector<int8_t> values;  // min, max, min, max, …
};

Dat ParseDat(const std::string& bytes) {
  Dat d;
  if (bytes.size() < 20) return d;
  std::memcpy(&d.version, bytes.data(), 4);  // the test machine is little-endian, as the file
  std::memcpy(&d.flags, bytes.data() + 4, 4);
  std::memcpy(&d.rate, bytes.data() + 8, 4);
  std::memcpy(&d.per_column, bytes.data() + 12, 4);
  std::memcpy(&d.columns, bytes.data() + 16, 4);
  d.values.assign(bytes.begin() + 20, bytes.end());
  return d;
}

// The waveform of a file analysed by the waveform analyzer alone.
Dat WaveformOf(const std::filesystem::path& file, double* columns_per_second = nullptr) {
  Registry registry;
  RegisterBuiltinAnalyzers(registry);
  const Analyzer* waveform = registry.Find("waveform");
  Pipeline pipeline({{waveform, *ResolveParams(waveform->info(), {})}});
  TrackAnalysis t = pipeline.Run(file);
  EXPECT_TRUE(t.status.ok()) << t.status.ToString();
  if (!t.status.ok() || t.analyses.size() != 1) return {};
  const Output& out = t.analyses[0].output;
  if (columns_per_second != nullptr) *columns_per_second = out.numbers.at("columns_per_second");
  EXPECT_EQ(out.files.at("peaks").media_type, "application/vnd.audiowaveform.dat");
  return ParseDat(out.files.at("peaks").bytes);
}

// A 2 s tone peaking at -6 dBFS (0.501 of full scale): every column spans the tone's
// extremes, 0.501 × 127 = 63.6, so ±64 (one step of rounding and resampling either way).
TEST(WaveformTest, ToneGivesItsPeakInEveryColumn) {
  TempDir dir;
  MakeTone(dir / "t.flac", 2.0, 440.0, -6.0, 2, 44100, "-c:a flac");
  double per_second = 0;
  const Dat d = WaveformOf(dir / "t.flac", &per_second);
  EXPECT_EQ(d.version, 1);
  EXPECT_EQ(d.flags, 1u);  // 8-bit
  EXPECT_EQ(d.rate, 44100);
  EXPECT_EQ(d.per_column, 512);
  EXPECT_DOUBLE_EQ(per_second, 44100.0 / 512);
  EXPECT_EQ(d.columns, (2 * 44100 + 511) / 512u);
  ASSERT_EQ(d.values.size(), 2 * d.columns);
  // The first and last columns may catch the fade of the decoder's edges; the rest may not.
  for (size_t c = 1; c + 1 < d.columns; ++c) {
    EXPECT_NEAR(d.values[2 * c], -64, 1) << c;
    EXPECT_NEAR(d.values[2 * c + 1], 64, 1) << c;
  }
}

TEST(WaveformTest, SilenceAndAVeryShortFile) {
  TempDir dir;
  MakeTone(dir / "short.wav", 0.01, 440.0, -3.0, 1, 44100, "");
  const Dat s = WaveformOf(dir / "short.wav");
  EXPECT_EQ(s.columns, 1u);  // 441 samples: one column, not a full one
  ASSERT_EQ(s.values.size(), 2u);
  EXPECT_LT(s.values[0], 0);
  EXPECT_GT(s.values[1], 0);
  ASSERT_EQ(std::system(("ffmpeg -v error -y -f lavfi -i anullsrc=r=44100:cl=mono -t 1 " +
                         timbre::testing::ShellQuote((dir / "silence.wav").string()))
                            .c_str()),
            0);
  const Dat z = WaveformOf(dir / "silence.wav");
  ASSERT_EQ(z.columns, (44100 + 511) / 512u);
  for (int8_t v : z.values) EXPECT_EQ(v, 0);
}

TEST(WaveformTest, InvalidParameter) {
  Registry registry;
  RegisterBuiltinAnalyzers(registry);
  const Analyzer* waveform = registry.Find("waveform");
  EXPECT_FALSE(ResolveParams(waveform->info(), {{"samples_per_column", 8}}).ok());
  EXPECT_FALSE(ResolveParams(waveform->info(), {{"columns", 8}}).ok());
  EXPECT_TRUE(ResolveParams(waveform->info(), {{"samples_per_column", 1024}}).ok());
}

// An analyzer whose output is whatever the test sets.
class ScriptedAnalyzer : public Analyzer {
 public:
  explicit ScriptedAnalyzer(Output out) : out_(std::move(out)) {
    info_.name = "scripted";
    info_.view = {0, 0};
    info_.window = "whole stream";
    info_.outputs = {{"level", "dB", "a number"},
                     {"label", "", "a text", true},
                     OutputSpec::File("picture", "a file", "image/png")};
  }
  const AnalyzerInfo& info() const override { return info_; }
  Result<std::unique_ptr<AnalyzerRun>> Start(const Params&, const audio::StreamInfo&,
                                             const audio::AudioBlock&) const override {
    class Run : public AnalyzerRun {
     public:
      explicit Run(Output out) : out_(std::move(out)) {}
      Result<Output> Finish(const audio::DecodeReport&) override { return out_; }

     private:
      Output out_;
    };
    return std::unique_ptr<AnalyzerRun>(std::make_unique<Run>(out_));
  }

 private:
  AnalyzerInfo info_;
  Output out_;
};

TEST(OutputCheckTest, OnlyDeclaredFiniteOutputsPass) {
  ScriptedAnalyzer a{Output{}};
  Output good;
  good.numbers["level"] = -3.0;
  good.texts["label"] = "x";
  good.files["picture"] = {"image/png", "\x89PNG", {}};
  good.vectors["space"] = {1.0f, 2.0f};
  EXPECT_TRUE(CheckOutput(a.info(), good).ok());

  auto reason = [&](const Output& o) { return std::string(CheckOutput(a.info(), o).reason()); };
  Output undeclared = good;
  undeclared.numbers["loudness"] = 1.0;
  EXPECT_EQ(reason(undeclared), "undeclared_output");
  Output wrong_kind = good;
  wrong_kind.texts["level"] = "loud";  // declared as a number
  EXPECT_EQ(reason(wrong_kind), "undeclared_output");
  Output file_as_number = good;
  file_as_number.numbers["picture"] = 1.0;
  EXPECT_EQ(reason(file_as_number), "undeclared_output");
  Output nan = good;
  nan.numbers["level"] = std::nan("");
  EXPECT_EQ(reason(nan), "non_finite_output");
  Output inf_vector = good;
  inf_vector.vectors["space"][1] = INFINITY;
  EXPECT_EQ(reason(inf_vector), "non_finite_output");
  Output inf_tag = good;
  inf_tag.tags.push_back({"nom:x", "high", -INFINITY});
  EXPECT_EQ(reason(inf_tag), "non_finite_output");
  Output empty_file = good;
  empty_file.files["picture"].bytes.clear();
  EXPECT_FALSE(CheckOutput(a.info(), empty_file).ok());
}

// The pipeline refuses such an output: the track fails with the analyzer named, and nothing
// of any analyzer is kept.
TEST(OutputCheckTest, ThePipelineFailsTheTrackInsteadOfStoringIt) {
  TempDir dir;
  MakeTone(dir / "t.flac", 1.0, 440.0, -6.0, 2, 44100, "-c:a flac");
  Registry registry;
  RegisterBuiltinAnalyzers(registry);
  Output nan;
  nan.numbers["level"] = std::nan("");
  ScriptedAnalyzer bad(nan);
  Pipeline pipeline({{registry.Find("properties"), {}}, {&bad, {}}});
  TrackAnalysis t = pipeline.Run(dir / "t.flac");
  EXPECT_FALSE(t.status.ok());
  EXPECT_EQ(t.status.reason(), "non_finite_output");
  EXPECT_NE(t.status.message().find("scripted"), std::string::npos) << t.status.message();
  EXPECT_TRUE(t.analyses.empty());
}

}  // namespace
}  // namespace timbre::analysis
