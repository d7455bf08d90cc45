#include "timbre/analysis/pipeline.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "test_support.h"
#include "timbre/analysis/registry.h"

namespace timbre::analysis {
namespace {

using timbre::testing::MakeTone;
using timbre::testing::TempDir;

class PipelineTest : public ::testing::Test {
 protected:
  PipelineTest() {
    RegisterBuiltinAnalyzers(registry_);
    auto p = DefaultPipeline(registry_);
    EXPECT_TRUE(p.ok());
    pipeline_ = std::make_unique<Pipeline>(std::move(p).value());
  }

  const AnalysisRecord* Find(const TrackAnalysis& t, const std::string& name) {
    for (const auto& a : t.analyses) {
      if (a.provenance.analyzer == name) return &a;
    }
    return nullptr;
  }

  Registry registry_;
  std::unique_ptr<Pipeline> pipeline_;
};

// Real decoded audio through every analyzer, with provenance filled from the contracts.
TEST_F(PipelineTest, AnalysesARealFile) {
  TempDir dir;
  MakeTone(dir / "t.flac", 8.0, 1000.0, -23.0, 2, 48000, "-c:a flac");
  TrackAnalysis t = pipeline_->Run(dir / "t.flac");
  ASSERT_TRUE(t.status.ok()) << t.status.ToString();
  ASSERT_EQ(t.analyses.size(), 7u);
  for (const auto& a : t.analyses) {
    const AnalyzerInfo& info = registry_.Find(a.provenance.analyzer)->info();
    EXPECT_EQ(a.provenance.analyzer_version, info.version);
    EXPECT_EQ(a.provenance.window, info.window);
    EXPECT_EQ(a.provenance.params_hash.size(), 32u);
    EXPECT_FALSE(a.provenance.engine_version.empty());
    EXPECT_GE(a.provenance.seconds, 0.0);
    for (const auto& [name, value] : a.output.numbers) {
      EXPECT_TRUE(std::isfinite(value)) << a.provenance.analyzer << "." << name;
      EXPECT_TRUE(a.units.count(name)) << "undeclared output " << name;
    }
  }
  const AnalysisRecord* loud = Find(t, "loudness");
  ASSERT_NE(loud, nullptr);
  EXPECT_NEAR(loud->output.numbers.at("integrated"), -23.0, 0.1);
  EXPECT_NEAR(loud->output.numbers.at("replaygain_track_gain"), 5.0, 0.1);
  EXPECT_NEAR(loud->output.numbers.at("true_peak_db"), -23.0, 0.2);
  const AnalysisRecord* props = Find(t, "properties");
  EXPECT_NEAR(props->output.numbers.at("duration"), 8.0, 0.001);
  EXPECT_EQ(props->output.numbers.at("sample_rate"), 48000);
  EXPECT_EQ(props->output.texts.at("codec"), "flac");
  const AnalysisRecord* fp = Find(t, "fingerprint");
  EXPECT_NEAR(fp->output.numbers.at("seconds"), 8.0, 0.01);
}

TEST_F(PipelineTest, SignatureFollowsVersionsAndParams) {
  std::vector<ConfiguredAnalyzer> changed = pipeline_->analyzers();
  changed[2].params["max_seconds"] = 30;  // fingerprint
  EXPECT_NE(Pipeline(changed).signature(), pipeline_->signature());
  EXPECT_EQ(Pipeline(pipeline_->analyzers()).signature(), pipeline_->signature());
}

TEST_F(PipelineTest, SilenceHasDefinedOutputsAndNotes) {
  TempDir dir;
  ASSERT_EQ(
      timbre::testing::RunCommand("sox -n -r 44100 -c 2 " + (dir / "s.wav").string() + " trim 0 3")
          .exit_code,
      0);
  TrackAnalysis t = pipeline_->Run(dir / "s.wav");
  ASSERT_TRUE(t.status.ok());
  const AnalysisRecord* loud = Find(t, "loudness");
  EXPECT_EQ(loud->output.numbers.count("integrated"), 0u);
  EXPECT_EQ(loud->output.numbers.count("true_peak_db"), 0u);
  EXPECT_EQ(loud->output.numbers.at("true_peak"), 0.0);
  EXPECT_FALSE(loud->output.notes.empty());
}

TEST_F(PipelineTest, VeryShortFileIsAnalysedWithNotes) {
  TempDir dir;
  MakeTone(dir / "blip.ogg", 0.2, 440, -6, 1, 44100, "-c:a libvorbis");
  TrackAnalysis t = pipeline_->Run(dir / "blip.ogg");
  ASSERT_TRUE(t.status.ok()) << t.status.ToString();
  EXPECT_NEAR(Find(t, "properties")->output.numbers.at("duration"), 0.2, 0.05);
  EXPECT_FALSE(Find(t, "loudness")->output.notes.empty());
  EXPECT_FALSE(Find(t, "fingerprint")->output.notes.empty());
}

TEST_F(PipelineTest, TruncatedFileFailsWithReason) {
  TempDir dir;
  MakeTone(dir / "full.flac", 10.0, 440, -6, 2, 44100, "-c:a flac");
  std::ifstream in(dir / "full.flac", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::ofstream(dir / "cut.flac", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  TrackAnalysis t = pipeline_->Run(dir / "cut.flac");
  EXPECT_EQ(t.status.reason(), "truncated");
  EXPECT_TRUE(t.analyses.empty());
  EXPECT_GT(t.decode.decoded_seconds(), 1.0);
}

}  // namespace
}  // namespace timbre::analysis
