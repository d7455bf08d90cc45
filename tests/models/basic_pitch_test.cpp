// Basic Pitch through timbre's runtime against the original: the npm package's own code and
// model run in node (tfjs CPU backend) on the same clips. The posteriorgrams must agree within
// 1e-4 and the decoded note events must be the same; timbre's decoder fed node's
// posteriorgrams must give node's events exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "test_models.h"
#include "timbre/models/model_cache.h"
#include "timbre/models/registry.h"
#include "timbre/models/transcriber.h"

namespace timbre::models {
namespace {

#ifdef TIMBRE_TORCH_PLUGIN_FILE

namespace fs = std::filesystem;
using testing::RunCommand;
using testing::ShellQuote;

struct NodeRun {
  dsp::Posteriorgrams grams;
  nlohmann::json notes;
};

// The original model on `samples`, run by scripts/basic-pitch/run-node.js.
NodeRun RunNode(const std::vector<float>& samples, const fs::path& dir) {
  NodeRun run;
  testing::WriteClip(dir / "clip.f32", dir / "clip.wav", samples);
  const auto r = RunCommand(
      "node " + ShellQuote(testing::SourcePath("scripts/basic-pitch/run-node.js").string()) +
      " --package " + ShellQuote(testing::BasicPitchPackage().string()) + " --in " +
      ShellQuote((dir / "clip.f32").string()) + " --out " + ShellQuote((dir / "node").string()) +
      " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(dir / "node.json");
  const auto j = nlohmann::json::parse(in);
  run.notes = j.at("notes");
  run.grams.frames = j.at("frames").get<size_t>();
  run.grams.note = ReadFloats(dir / "node.note.f32");
  run.grams.onset = ReadFloats(dir / "node.onset.f32");
  run.grams.contour = ReadFloats(dir / "node.contour.f32");
  return run;
}

Result<dsp::Posteriorgrams> RunTimbre(const std::vector<float>& samples, size_t batch,
                                      size_t block) {
  UseTorchPlugin(TIMBRE_TORCH_PLUGIN_FILE);
  const RuntimeLookup& lookup = TorchRuntime();
  EXPECT_NE(lookup.runtime, nullptr) << lookup.reason;
  if (lookup.runtime == nullptr) return Internal("no runtime");
  lookup.runtime->SetThreads(1);
  auto registry = ModelRegistry::Discover(testing::BasicPitchModels());
  EXPECT_TRUE(registry.ok());
  const ModelEntry* entry = registry->Find("basic-pitch");
  EXPECT_NE(entry, nullptr);
  if (entry == nullptr) return NotFound("basic-pitch");
  EXPECT_TRUE(CheckBasicPitchShape(entry->manifest).ok());
  ModelCache cache(lookup.runtime, 256 << 20);
  auto model = cache.Get(*entry);
  if (!model.ok()) return model.status();
  NoteTranscriber transcriber(*model, entry->manifest, batch);
  // Streamed in blocks of `block` samples, as decoding hands them over.
  for (size_t i = 0; i < samples.size(); i += block) {
    transcriber.Add(samples.data() + i, std::min(block, samples.size() - i));
  }
  return transcriber.Finish();
}

double MaxDiff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0.0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    worst = std::max(worst, std::fabs(static_cast<double>(a[i]) - b[i]));
  }
  return worst;
}

void ExpectSameNotes(const std::vector<dsp::NoteEvent>& ours, const nlohmann::json& theirs,
                     double amplitude_tolerance) {
  ASSERT_EQ(ours.size(), theirs.size());
  for (size_t i = 0; i < ours.size(); ++i) {
    SCOPED_TRACE(i);
    const auto& t = theirs[i];
    EXPECT_EQ(ours[i].start_frame, t.at("start_frame").get<int>());
    EXPECT_EQ(ours[i].duration_frames, t.at("duration_frames").get<int>());
    EXPECT_EQ(ours[i].pitch, t.at("pitch_midi").get<int>());
    EXPECT_NEAR(ours[i].amplitude, t.at("amplitude").get<double>(), amplitude_tolerance);
    EXPECT_EQ(ours[i].pitch_bends, t.at("pitch_bends").get<std::vector<int>>());
    EXPECT_NEAR(dsp::NoteFrameSeconds(ours[i].start_frame), t.at("start_s").get<double>(), 1e-12);
  }
}

void CheckParity(const std::vector<float>& samples, size_t batch, size_t block, size_t min_notes) {
  testing::TempDir dir;
  const NodeRun node = RunNode(samples, dir.path());
  EXPECT_GE(node.notes.size(), min_notes);
  auto ours = RunTimbre(samples, batch, block);
  ASSERT_TRUE(ours.ok()) << ours.status().message();
  ASSERT_EQ(ours->frames, node.grams.frames);
  EXPECT_LE(MaxDiff(ours->note, node.grams.note), 1e-4);
  EXPECT_LE(MaxDiff(ours->onset, node.grams.onset), 1e-4);
  EXPECT_LE(MaxDiff(ours->contour, node.grams.contour), 1e-4);
  {
    SCOPED_TRACE("timbre's decoder on node's posteriorgrams");
    ExpectSameNotes(dsp::DecodeNotes(node.grams), node.notes, 1e-12);
  }
  {
    SCOPED_TRACE("timbre's decoder on timbre's posteriorgrams");
    ExpectSameNotes(dsp::DecodeNotes(*ours), node.notes, 1e-4);
  }
}

TEST(BasicPitch, ChordAndScaleMatchTheOriginal) {
  const std::vector<float> clip = testing::MakeChordAndScale();
  CheckParity(clip, 4, 4096, 11);  // three chord notes, eight scale notes
}

TEST(BasicPitch, AShortNoisyClipMatchesTheOriginalAtAnyBatchSize) {
  // 0.8 s: one window, mostly padding; quiet noise under a tone.
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.0f, 0.02f);
  std::vector<float> clip(17640);
  for (size_t i = 0; i < clip.size(); ++i) {
    clip[i] = 0.3f * static_cast<float>(std::sin(2.0 * M_PI * 220.0 * i / 22050.0)) + noise(rng);
  }
  CheckParity(clip, 1, 1000, 1);  // the A3
}

TEST(BasicPitch, WindowsAreTheSameWhateverTheBatchAndBlockSizes) {
  const std::vector<float> clip = testing::MakeChordAndScale();
  auto a = RunTimbre(clip, 1, 333);
  auto b = RunTimbre(clip, 16, 65536);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->frames, b->frames);
  EXPECT_EQ(a->frames, dsp::NoteFramesFor(clip.size()));
  // Batches of 1 and 16 go through different GEMM kernels whose float sums run in another
  // order: on an AMD EPYC with OpenBLAS the posteriorgrams differ by up to 2e-4. A window cut
  // or placed wrongly moves them by far more than 1e-3.
  EXPECT_LE(MaxDiff(a->note, b->note), 1e-3);
  EXPECT_LE(MaxDiff(a->contour, b->contour), 1e-3);
}

TEST(BasicPitch, OtherShapesAreRefused) {
  auto registry = ModelRegistry::Discover(testing::BasicPitchModels());
  ASSERT_TRUE(registry.ok());
  const ModelEntry* entry = registry->Find("basic-pitch");
  ASSERT_NE(entry, nullptr);
  Manifest m = entry->manifest;
  m.waveform.window = 22050;
  m.output_names = {"note", "contour"};
  const Status s = CheckBasicPitchShape(m);
  EXPECT_EQ(s.reason(), "unsupported_transcriber");
  EXPECT_NE(s.message().find("input.window is 22050, not 43844"), std::string::npos);
  EXPECT_NE(s.message().find("output.names lacks \"onset\""), std::string::npos);
}

#else

TEST(BasicPitch, NeedsTheRuntime) {
  FAIL() << "built without libtorch: Basic Pitch cannot run (scripts/install-deps.sh installs "
            "libtorch-dev)";
}

#endif

}  // namespace
}  // namespace timbre::models
