// notes: polyphonic note transcription with a transcriber model (Basic Pitch). Mono audio at
// 22,050 Hz streams into a models::NoteTranscriber; the whole track's posteriorgrams are
// decoded into note events at the end (dsp/notes.h). Descriptors come from the notes: count,
// density, pitch range, a duration-weighted pitch-class histogram and the key it suggests.
#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "timbre/analysis/model_analyzers.h"
#include "timbre/dsp/notes.h"
#include "timbre/dsp/tonal.h"
#include "timbre/models/transcriber.h"

namespace timbre::analysis {
namespace {

// The embedding space of dsp::NoteFeatures (`timbre similar --space notes-v1`).
constexpr const char* kNotesSpace = "notes-v1";

using models::ModelEntry;

class NotesAnalyzer : public Analyzer {
 public:
  NotesAnalyzer(ModelEntry model, models::ModelCache& cache, ModelRunOptions options)
      : model_(std::move(model)), cache_(cache), options_(options) {
    const auto& m = model_.manifest;
    info_.name = "notes";
    info_.version = 1;
    info_.description = fmt::format(
        "Note events (onset, duration, MIDI pitch, amplitude, pitch bends) transcribed by {} "
        "({}, {}); pitch range, note density, pitch-class histogram and its key.",
        m.id, m.framework, m.license);
    info_.view = {dsp::kNoteSampleRate, 1};
    info_.window = "the first max_seconds of the stream";
    info_.models.emplace_back(m.id, m.sha256);
    info_.params = {
        {"onset_threshold", 0.5, 0.05, 0.95, "", "an onset peak must exceed this to start a note"},
        {"frame_threshold", 0.3, 0.05, 0.95, "", "a note lasts while its posterior is above this"},
        {"min_note_frames", 5, 1, 100, "frames", "notes this short (11.6 ms frames) are dropped"},
        {"max_seconds", 600, 1, 7200, "s", "audio transcribed from the start of the track"},
    };
    info_.outputs = {
        {"events", "", "note events, compact text (docs/notes.md); `timbre notes` reads them",
         true},
        {"note_count", "", "notes found", false},
        {"note_density", "1/s", "notes per second of transcribed audio", false},
        {"pitch_lowest", "MIDI", "lowest note", false},
        {"pitch_highest", "MIDI", "highest note", false},
        {"pitch_range", "semitones", "highest minus lowest note", false},
        {"pitch_mean", "MIDI", "mean pitch, weighted by duration", false},
        {"key", "", "key of the pitch-class histogram (Temperley profile), e.g. \"A minor\"", true},
        {"key_strength", "", "correlation of the histogram with that key's profile", false},
        {"seconds", "s", "audio transcribed", false},
    };
    for (int pc = 0; pc < 12; ++pc) {
      info_.outputs.push_back({fmt::format("pitch_class_{}", pc), "",
                               fmt::format("share of note duration on {}", dsp::PitchClassName(pc)),
                               false});
    }
  }

  const AnalyzerInfo& info() const override { return info_; }
  Result<std::unique_ptr<AnalyzerRun>> Start(const Params& params, const audio::StreamInfo& stream,
                                             const audio::AudioBlock& view_info) const override;

  const ModelEntry& model() const { return model_; }
  models::ModelCache& cache() const { return cache_; }
  size_t batch() const { return std::max<size_t>(1, options_.batch); }

 private:
  ModelEntry model_;
  models::ModelCache& cache_;
  ModelRunOptions options_;
  AnalyzerInfo info_;
};

class NotesRun : public AnalyzerRun {
 public:
  NotesRun(const NotesAnalyzer& owner, const Params& params) {
    decode_.onset_threshold = params.at("onset_threshold");
    decode_.frame_threshold = params.at("frame_threshold");
    decode_.min_note_frames = static_cast<int>(params.at("min_note_frames"));
    max_samples_ = static_cast<size_t>(params.at("max_seconds") * dsp::kNoteSampleRate);
    auto model = owner.cache().Get(owner.model());
    if (!model.ok()) {
      error_ = model.status();
      return;
    }
    transcriber_.emplace(std::move(model).value(), owner.model().manifest, owner.batch());
  }

  bool Consume(const audio::AudioBlock& block) override {
    if (!transcriber_) return false;
    transcriber_->Add(block.samples,
                      std::min(block.frames, max_samples_ - transcriber_->samples()));
    return transcriber_->samples() < max_samples_;
  }

  Result<Output> Finish(const audio::DecodeReport& report) override {
    (void)report;
    Output out;
    Result<dsp::Posteriorgrams> grams = transcriber_ ? transcriber_->Finish() : error_;
    if (!grams.ok()) {
      // Recorded rather than failing the track, as for the other models.
      out.notes.push_back(fmt::format("{}: {}", grams.status().reason(), grams.status().message()));
      return out;
    }
    const std::vector<dsp::NoteEvent> notes = dsp::DecodeNotes(*grams, decode_);
    const double seconds = static_cast<double>(transcriber_->samples()) / dsp::kNoteSampleRate;
    const dsp::NoteSummary s = dsp::SummariseNotes(notes, seconds);
    out.texts["events"] = dsp::EncodeNotes(notes);
    out.numbers["note_count"] = static_cast<double>(s.count);
    out.numbers["note_density"] = s.density;
    out.numbers["seconds"] = seconds;
    if (notes.empty()) {
      out.notes.push_back(seconds > 0.0 ? "no notes: nothing pitched was found"
                                        : "no notes: no audio");
      return out;
    }
    out.numbers["pitch_lowest"] = s.lowest;
    out.numbers["pitch_highest"] = s.highest;
    out.numbers["pitch_range"] = s.highest - s.lowest;
    out.numbers["pitch_mean"] = s.mean_pitch;
    for (int pc = 0; pc < 12; ++pc) {
      out.numbers[fmt::format("pitch_class_{}", pc)] = s.pitch_classes[static_cast<size_t>(pc)];
    }
    auto key = dsp::EstimateKey(s.pitch_classes, dsp::KeyProfile::kTemperley);
    if (key) {
      out.texts["key"] = key->Name();
      out.numbers["key_strength"] = key->strength;
    }
    out.vectors[kNotesSpace] =
        dsp::NoteFeatures(notes, s, key ? key->tonic : 0, key && key->minor, seconds);
    return out;
  }

 private:
  dsp::NoteDecodeOptions decode_;
  size_t max_samples_ = 0;
  std::optional<models::NoteTranscriber> transcriber_;
  Status error_;
};

Result<std::unique_ptr<AnalyzerRun>> NotesAnalyzer::Start(
    const Params& params, const audio::StreamInfo& stream,
    const audio::AudioBlock& view_info) const {
  (void)stream;
  (void)view_info;
  return std::unique_ptr<AnalyzerRun>(std::make_unique<NotesRun>(*this, params));
}

}  // namespace

Result<std::unique_ptr<Analyzer>> MakeNotesAnalyzer(const models::ModelEntry& model,
                                                    models::ModelCache& cache,
                                                    const ModelRunOptions& options) {
  TIMBRE_RETURN_IF_ERROR(models::CheckBasicPitchShape(model.manifest));
  return std::unique_ptr<Analyzer>(std::make_unique<NotesAnalyzer>(model, cache, options));
}

}  // namespace timbre::analysis
