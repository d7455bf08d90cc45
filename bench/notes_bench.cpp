// Basic Pitch through timbre's runtime on raw clips, with the same outputs as
// scripts/basic-pitch/run-node.js gives for the original, so bench/notes-eval.sh can compare
// the two side by side: posteriorgrams, note events and the model time.
//
//   build/bench/notes_bench MODELS_DIR CLIP.f32 OUTPREFIX
//
// CLIP.f32 is raw float32 mono audio at 22,050 Hz. Writes OUTPREFIX.{note,onset,contour}.f32
// and OUTPREFIX.json {frames, seconds_model, seconds_decode, notes: [...]}.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "timbre/core/config.h"
#include "timbre/models/model_cache.h"
#include "timbre/models/registry.h"
#include "timbre/models/transcriber.h"

namespace {

using namespace timbre;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "notes_bench: %s\n", message.c_str());
  return 1;
}

bool WriteFloats(const std::string& path, const std::vector<float>& v) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(v.data()),
            static_cast<std::streamsize>(v.size() * sizeof(float)));
  return out.good();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) return Fail("usage: notes_bench MODELS_DIR CLIP.f32 OUTPREFIX");
  const std::string prefix = argv[3];
  std::ifstream in(argv[2], std::ios::binary);
  if (!in) return Fail(std::string("cannot read ") + argv[2]);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> samples(bytes.size() / sizeof(float));
  std::memcpy(samples.data(), bytes.data(), samples.size() * sizeof(float));

  // The plugin is found the way timbre finds it: models.torch_plugin from the environment
  // (TIMBRE_TORCH_PLUGIN), else beside the binary.
  auto config = Config::Load("", false);
  if (!config.ok()) return Fail(config.status().message());
  models::UseTorchPlugin(config->Text("models.torch_plugin"));
  const models::RuntimeLookup& lookup = models::TorchRuntime();
  if (lookup.runtime == nullptr) return Fail(lookup.reason);
  lookup.runtime->SetThreads(1);
  auto registry = models::ModelRegistry::Discover(argv[1]);
  if (!registry.ok()) return Fail(registry.status().message());
  const models::ModelEntry* entry = registry->Find("basic-pitch");
  if (entry == nullptr || !entry->usable()) return Fail("basic-pitch is not installed there");
  models::ModelCache cache(lookup.runtime, 256 << 20);
  auto model = cache.Get(*entry);
  if (!model.ok()) return Fail(model.status().message());

  // Blocks of 4096 samples, as decoding hands them over; 16 windows per forward pass.
  const auto start = Clock::now();
  models::NoteTranscriber transcriber(*model, entry->manifest, 16);
  for (size_t i = 0; i < samples.size(); i += 4096) {
    transcriber.Add(samples.data() + i, std::min<size_t>(4096, samples.size() - i));
  }
  auto grams = transcriber.Finish();
  if (!grams.ok()) return Fail(grams.status().message());
  const double model_seconds = Seconds(start);
  const auto decode_start = Clock::now();
  const std::vector<dsp::NoteEvent> notes = dsp::DecodeNotes(*grams);
  const double decode_seconds = Seconds(decode_start);

  nlohmann::json list = nlohmann::json::array();
  for (const auto& n : notes) {
    const double s = dsp::NoteFrameSeconds(n.start_frame);
    list.push_back({{"start_frame", n.start_frame},
                    {"duration_frames", n.duration_frames},
                    {"pitch_midi", n.pitch},
                    {"amplitude", n.amplitude},
                    {"pitch_bends", n.pitch_bends},
                    {"start_s", s},
                    {"duration_s", dsp::NoteFrameSeconds(n.start_frame + n.duration_frames) - s}});
  }
  if (!WriteFloats(prefix + ".note.f32", grams->note) ||
      !WriteFloats(prefix + ".onset.f32", grams->onset) ||
      !WriteFloats(prefix + ".contour.f32", grams->contour)) {
    return Fail("cannot write " + prefix + ".*.f32");
  }
  std::ofstream(prefix + ".json") << nlohmann::json{
      {"frames", grams->frames},
      {"seconds_model", model_seconds},
      {"seconds_decode", decode_seconds},
      {"notes", list}}.dump();
  std::printf("%zu samples, %zu frames, %zu notes, model %.3f s, decode %.3f s\n", samples.size(),
              grams->frames, notes.size(), model_seconds, decode_seconds);
  return 0;
}
