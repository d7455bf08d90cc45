// The TorchScript runtime (through the plugin the build made), the model cache, and the
// log-mel frontend, against references computed in Python on the same inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "test_models.h"
#include "timbre/audio/decode.h"
#include "timbre/dsp/logmel.h"
#include "timbre/models/model_cache.h"
#include "timbre/models/registry.h"

namespace timbre::models {
namespace {

namespace fs = std::filesystem;

#ifdef TIMBRE_TORCH_PLUGIN_FILE

Runtime* Torch() {
  UseTorchPlugin(TIMBRE_TORCH_PLUGIN_FILE);
  const RuntimeLookup& r = TorchRuntime();
  EXPECT_NE(r.runtime, nullptr) << r.reason;
  // One thread, as scans run it: no OpenMP pool, whose threads LeakSanitizer cannot trace
  // at exit.
  if (r.runtime != nullptr) r.runtime->SetThreads(1);
  return r.runtime;
}

nlohmann::json References() {
  std::ifstream in(TestModels() / "reference" / "reference.json");
  return nlohmann::json::parse(in);
}

ModelRegistry Registry() {
  auto r = ModelRegistry::Discover(TestModels() / "models");
  EXPECT_TRUE(r.ok());
  return std::move(r).value();
}

TEST(Runtime, OutputsMatchPythonOnTheSameInput) {
  Runtime* torch = Torch();
  ASSERT_NE(torch, nullptr);
  EXPECT_EQ(torch->name(), "torchscript");
  ModelCache cache(torch, 64 << 20);
  const ModelRegistry registry = Registry();
  const auto refs = References();
  for (const char* id :
       {"tiny-embedder-1.0", "tiny-aggressive-1.0", "tiny-relaxed-1.0", "tiny-genre-2.1"}) {
    SCOPED_TRACE(id);
    const ModelEntry* entry = registry.Find(id);
    ASSERT_NE(entry, nullptr);
    auto model = cache.Get(*entry);
    ASSERT_TRUE(model.ok()) << model.status().message();
    const auto input = ReadFloats(TestModels() / "reference" / (std::string(id) + ".input.f32"));
    const auto want = ReadFloats(TestModels() / "reference" / (std::string(id) + ".output.f32"));
    const std::vector<int64_t> shape = refs[id]["input_shape"].get<std::vector<int64_t>>();
    Matrix out;
    std::string error;
    ASSERT_TRUE((*model)->Forward(input.data(), shape, 0, &out, &error)) << error;
    ASSERT_EQ(out.values.size(), want.size());
    EXPECT_EQ(out.rows, static_cast<size_t>(shape[0]));
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(out.values[i], want[i], 1e-5) << i;
  }
}

TEST(Runtime, WrongInputShapeIsAnErrorNotACrash) {
  Runtime* torch = Torch();
  ASSERT_NE(torch, nullptr);
  ModelCache cache(torch, 64 << 20);
  const ModelRegistry registry = Registry();
  auto model = cache.Get(*registry.Find("tiny-embedder-1.0"));
  ASSERT_TRUE(model.ok());
  std::vector<float> input(2 * 2 * 2, 0.0f);  // smaller than the model's 3x3 kernel
  Matrix out;
  std::string error;
  EXPECT_FALSE((*model)->Forward(input.data(), {2, 2, 2}, 0, &out, &error));
  EXPECT_FALSE(error.empty());
  EXPECT_EQ(error.find('\n'), std::string::npos);  // one line, no C++ backtrace
}

TEST(Runtime, GarbageWithTheRightChecksumFailsToLoadCleanly) {
  Runtime* torch = Torch();
  ASSERT_NE(torch, nullptr);
  testing::TempDir tmp;
  std::ofstream(tmp / "junk.pt") << "not a TorchScript archive";
  ModelEntry e;
  e.manifest.id = "junk";
  e.manifest.sha256 = Sha256File(tmp / "junk.pt").value();
  e.model_path = tmp / "junk.pt";
  ModelCache cache(torch, 64 << 20);
  auto model = cache.Get(e);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().reason(), "model_load_failed");
}

TEST(ModelCache, LoadsLazilyOnceAndDropsTheLeastRecentlyUsed) {
  Runtime* torch = Torch();
  ASSERT_NE(torch, nullptr);
  const ModelRegistry registry = Registry();
  const ModelEntry& embedder = *registry.Find("tiny-embedder-1.0");
  const ModelEntry& head = *registry.Find("tiny-aggressive-1.0");
  const ModelEntry& genre = *registry.Find("tiny-genre-2.1");

  // A budget one byte short of all three models.
  size_t all = 0;
  {
    ModelCache probe(torch, 1u << 30);
    for (const auto* e : {&embedder, &head, &genre}) all += probe.Get(*e).value()->memory_bytes();
  }
  ASSERT_GT(all, 0u);
  ModelCache cache(torch, all - 1);
  EXPECT_EQ(cache.stats().loads, 0u);  // nothing loads until a model is used
  auto first = cache.Get(embedder);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(cache.stats().loads, 1u);
  ASSERT_TRUE(cache.Get(embedder).ok());
  EXPECT_EQ(cache.stats().loads, 1u);
  EXPECT_EQ(cache.stats().hits, 1u);
  ASSERT_TRUE(cache.Get(head).ok());
  ASSERT_TRUE(cache.Get(embedder).ok());  // the embedder is now the most recent
  ASSERT_TRUE(cache.Get(genre).ok());     // over budget: the head goes
  EXPECT_EQ(cache.stats().evictions, 1u);
  EXPECT_EQ(cache.stats().resident_models, 2u);
  ASSERT_TRUE(cache.Get(embedder).ok());
  EXPECT_EQ(cache.stats().loads, 3u);  // still resident
  ASSERT_TRUE(cache.Get(head).ok());
  EXPECT_EQ(cache.stats().loads, 4u);  // dropped earlier, loaded again
  // A model dropped from the cache stays usable by whoever holds it.
  Matrix out;
  std::string error;
  std::vector<float> input(16 * 32, 0.0f);
  EXPECT_TRUE((*first)->Forward(input.data(), {1, 16, 32}, 0, &out, &error)) << error;
}

TEST(ModelCache, ChecksIntegrityOnTheBytesItLoads) {
  Runtime* torch = Torch();
  ASSERT_NE(torch, nullptr);
  testing::TempDir tmp;
  fs::copy(TestModels() / "models", tmp / "m", fs::copy_options::recursive);
  auto registry = ModelRegistry::Discover(tmp / "m");
  ASSERT_TRUE(registry.ok());
  registry->Verify();
  // Changed after verification, before the first load.
  std::ofstream(tmp / "m" / "tiny-genre-2.1.pt", std::ios::app) << "x";
  ModelCache cache(torch, 64 << 20);
  auto model = cache.Get(*registry->Find("tiny-genre-2.1"));
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().reason(), "checksum_mismatch");
  EXPECT_EQ(cache.stats().loads, 0u);
}

#else

TEST(Runtime, UnavailableWithoutLibtorch) {
  const RuntimeLookup& r = TorchRuntime();
  EXPECT_EQ(r.runtime, nullptr);
  EXPECT_NE(r.reason.find("not installed"), std::string::npos) << r.reason;
}

#endif

// Frames of the log-mel frontend for a WAV, through the real decoder and STFT.
std::vector<float> Frontend(const fs::path& wav, const dsp::LogMelSpec& spec, size_t* frames) {
  dsp::LogMel logmel(spec);
  std::vector<float> out, frame(logmel.bands());
  dsp::Stft stft(spec.stft(), spec.sample_rate, [&](const dsp::SpectrumFrame& f) {
    logmel.Compute(f.magnitude, frame.data());
    out.insert(out.end(), frame.begin(), frame.end());
  });
  auto report = audio::DecodeFile(
      wav, {{spec.sample_rate, 1}}, [](const audio::StreamInfo&) { return Status::Ok(); },
      [&](size_t, const audio::AudioBlock& b) {
        stft.Add(b.samples, b.frames);
        return true;
      });
  EXPECT_TRUE(report.ok());
  stft.Finish();
  *frames = stft.frames();
  return out;
}

TEST(Frontend, LogMelMatchesTheNumpyReference) {
  std::ifstream in(TestModels() / "reference" / "reference.json");
  const auto refs = nlohmann::json::parse(in);
  struct Case {
    const char* name;
    const char* wav;
    dsp::LogMelSpec spec;
    double tolerance;  // absolute: near-silent bands make relative error meaningless
  };
  dsp::LogMelSpec s16;
  s16.sample_rate = 16000;
  s16.frame_size = 512;
  s16.hop_size = 256;
  s16.mel_bands = 32;
  s16.high_hz = 8000;
  dsp::LogMelSpec s22;
  s22.sample_rate = 22050;
  s22.frame_size = 1024;
  s22.hop_size = 512;
  s22.mel_bands = 24;
  s22.high_hz = 11025;
  s22.log = dsp::LogCompression::kDecibel;
  for (const Case& c : {Case{"frontend-16k", "tone-16k.wav", s16, 1e-4},
                        Case{"frontend-22k", "tone-22k.wav", s22, 1e-3}}) {
    SCOPED_TRACE(c.name);
    size_t frames = 0;
    const auto got = Frontend(TestModels() / "audio" / c.wav, c.spec, &frames);
    const auto want = ReadFloats(TestModels() / "reference" / (std::string(c.name) + ".f32"));
    EXPECT_EQ(frames, refs[c.name]["frames"].get<size_t>());
    ASSERT_EQ(got.size(), want.size());
    double worst = 0.0;
    for (size_t i = 0; i < want.size(); ++i)
      worst = std::max(worst, std::fabs(double(got[i]) - want[i]));
    EXPECT_LT(worst, c.tolerance);
  }
}

TEST(Frontend, PatchesOverlapAndShortInputGetsOnePaddedPatch) {
  dsp::PatchBuilder patches(4, 2, 1, -1.0f);
  for (float v : {0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f}) patches.AddFrame(&v);
  patches.Finish();
  std::vector<float> out;
  EXPECT_EQ(patches.Take(10, &out), 2u);  // frames 0-3 and 2-5; 4-7 is not whole
  EXPECT_EQ(out, (std::vector<float>{0, 1, 2, 3, 2, 3, 4, 5}));

  dsp::PatchBuilder short_input(4, 2, 1, -1.0f);
  const float v = 7.0f;
  short_input.AddFrame(&v);
  short_input.Finish();
  out.clear();
  EXPECT_EQ(short_input.Take(10, &out), 1u);
  EXPECT_EQ(out, (std::vector<float>{7, -1, -1, -1}));

  dsp::PatchBuilder sparse(2, 3, 1, 0.0f);  // a hop longer than a patch skips frames
  for (float f : {0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f}) sparse.AddFrame(&f);
  out.clear();
  EXPECT_EQ(sparse.Take(10, &out), 2u);
  EXPECT_EQ(out, (std::vector<float>{0, 1, 3, 4}));
}

}  // namespace
}  // namespace timbre::models
