// notes: polyphonic note transcription with a transcriber model (Basic Pitch). Mono audio at
// 22,050 Hz is cut into the package's overlapping 2 s windows as it streams, windows run in
// batches, the overlap is trimmed, and the whole track's posteriorgrams are decoded into note
// events at the end (dsp/notes.h). Descriptors come from the notes: count, density, pitch
// range, a duration-weighted pitch-class histogram and the key it suggests.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "timbre/analysis/model_analyzers.h"
#include "timbre/dsp/notes.h"
#include "timbre/dsp/tonal.h"

namespace timbre::analysis {
namespace {

using models::ModelEntry;

constexpr size_t kTrim = dsp::kNoteOverlapFrames / 2;  // frames dropped at each window edge
constexpr size_t kKeptFrames = dsp::kNoteWindowFrames - 2 * kTrim;

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
    info_.window = "first max_seconds";
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
        {"key", "", "key of the pitch-class histogram (Temperley profile), e.g. \"A minor\"",
         true},
        {"key_strength", "", "correlation of the histogram with that key's profile", false},
        {"seconds", "s", "audio transcribed", false},
    };
    for (int pc = 0; pc < 12; ++pc) {
      info_.outputs.push_back(
          {fmt::format("pitch_class_{}", pc), "",
           fmt::format("share of note duration on {}", dsp::PitchClassName(pc)), false});
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
  NotesRun(const NotesAnalyzer& owner, const Params& params)
      : owner_(owner), pending_(dsp::kNoteLeadIn, 0.0f) {
    decode_.onset_threshold = params.at("onset_threshold");
    decode_.frame_threshold = params.at("frame_threshold");
    decode_.min_note_frames = static_cast<int>(params.at("min_note_frames"));
    max_samples_ = static_cast<size_t>(params.at("max_seconds") * dsp::kNoteSampleRate);
    const auto& names = owner.model().manifest.output_names;
    for (const char* want : {"note", "onset", "contour"}) {
      const auto it = std::find(names.begin(), names.end(), want);
      index_.push_back(static_cast<size_t>(it - names.begin()));
    }
    auto model = owner.cache().Get(owner.model());
    if (!model.ok()) {
      Fail(model.status());
      return;
    }
    model_ = std::move(model).value();
  }

  bool Consume(const audio::AudioBlock& block) override {
    if (failed_) return false;
    const size_t take = std::min(block.frames, max_samples_ - samples_);
    pending_.insert(pending_.end(), block.samples, block.samples + take);
    samples_ += take;
    while (!failed_ && pending_.size() - offset_ >= dsp::kNoteWindow) TakeWindow();
    return !failed_ && samples_ < max_samples_;
  }

  Result<Output> Finish(const audio::DecodeReport& report) override {
    (void)report;
    Output out;
    if (samples_ == 0 && !failed_) {
      out.texts["events"] = dsp::EncodeNotes({});
      out.numbers["note_count"] = 0;
      out.numbers["seconds"] = 0;
      out.notes.push_back("no notes: no audio");
      return out;
    }
    // The package frames the padded signal with zeros past its end, so every window that
    // starts inside it runs.
    while (!failed_ && offset_ < pending_.size()) TakeWindow();
    if (!failed_ && batch_windows_ > 0) RunBatch();
    if (failed_) {
      out.notes.push_back(error_);
      return out;
    }
    const size_t frames = std::min(grams_.frames, dsp::NoteFramesFor(samples_));
    grams_.frames = frames;
    grams_.note.resize(frames * dsp::kNoteBins);
    grams_.onset.resize(frames * dsp::kNoteBins);
    grams_.contour.resize(frames * dsp::kContourBins);
    const std::vector<dsp::NoteEvent> notes = dsp::DecodeNotes(grams_, decode_);
    const double seconds = static_cast<double>(samples_) / dsp::kNoteSampleRate;
    const dsp::NoteSummary s = dsp::SummariseNotes(notes, seconds);
    out.texts["events"] = dsp::EncodeNotes(notes);
    out.numbers["note_count"] = static_cast<double>(s.count);
    out.numbers["note_density"] = s.density;
    out.numbers["seconds"] = seconds;
    if (notes.empty()) {
      out.notes.push_back("no notes: nothing pitched was found");
      return out;
    }
    out.numbers["pitch_lowest"] = s.lowest;
    out.numbers["pitch_highest"] = s.highest;
    out.numbers["pitch_range"] = s.highest - s.lowest;
    out.numbers["pitch_mean"] = s.mean_pitch;
    for (int pc = 0; pc < 12; ++pc) {
      out.numbers[fmt::format("pitch_class_{}", pc)] = s.pitch_classes[static_cast<size_t>(pc)];
    }
    if (auto key = dsp::EstimateKey(s.pitch_classes, dsp::KeyProfile::kTemperley)) {
      out.texts["key"] = key->Name();
      out.numbers["key_strength"] = key->strength;
    }
    return out;
  }

 private:
  void Fail(const Status& s) {
    failed_ = true;
    error_ = fmt::format("{}: {}", s.reason(), s.message());
  }

  // Copies the window at offset_ (zero-padded past the end) into the batch.
  void TakeWindow() {
    const size_t have = std::min(dsp::kNoteWindow, pending_.size() - offset_);
    batch_.insert(batch_.end(), pending_.begin() + static_cast<std::ptrdiff_t>(offset_),
                  pending_.begin() + static_cast<std::ptrdiff_t>(offset_ + have));
    batch_.resize(batch_.size() + (dsp::kNoteWindow - have), 0.0f);
    ++batch_windows_;
    offset_ += dsp::kNoteWindowHop;
    if (offset_ >= pending_.size()) {
      pending_.clear();
      offset_ = 0;
    } else if (offset_ > (1u << 20)) {  // compact now and then, not per window
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(offset_));
      offset_ = 0;
    }
    if (batch_windows_ >= owner_.batch()) RunBatch();
  }

  void RunBatch() {
    const auto& m = owner_.model().manifest;
    const std::vector<int64_t> shape{static_cast<int64_t>(batch_windows_),
                                     static_cast<int64_t>(dsp::kNoteWindow)};
    std::vector<models::Tensor> outputs;
    std::string error;
    const size_t windows = batch_windows_;
    batch_windows_ = 0;
    if (!model_->ForwardAll(batch_.data(), shape, &outputs, &error)) {
      Fail(InvalidArgument(fmt::format("{}: {}", m.id, error)).WithReason("model_failed"));
      return;
    }
    batch_.clear();
    const std::array<int64_t, 3> bins{dsp::kNoteBins, dsp::kNoteBins, dsp::kContourBins};
    std::array<std::vector<float>*, 3> sinks{&grams_.note, &grams_.onset, &grams_.contour};
    if (outputs.size() != m.output_names.size()) {
      Fail(InvalidArgument(fmt::format("{} returned {} outputs; its manifest names {}", m.id,
                                       outputs.size(), m.output_names.size()))
               .WithReason("output_mismatch"));
      return;
    }
    for (size_t k = 0; k < 3; ++k) {
      const models::Tensor& t = outputs[index_[k]];
      const std::vector<int64_t> want{static_cast<int64_t>(windows),
                                      static_cast<int64_t>(dsp::kNoteWindowFrames), bins[k]};
      if (t.shape != want) {
        Fail(InvalidArgument(fmt::format("{} output {} has shape [{}], expected [{}]", m.id,
                                         m.output_names[index_[k]], fmt::join(t.shape, ", "),
                                         fmt::join(want, ", ")))
                 .WithReason("output_mismatch"));
        return;
      }
      if (!std::all_of(t.values.begin(), t.values.end(), [](float v) { return std::isfinite(v); })) {
        Fail(Corrupt(fmt::format("{} returned a value that is not finite", m.id))
                 .WithReason("model_output_not_finite"));
        return;
      }
      const auto width = static_cast<size_t>(bins[k]);
      for (size_t w = 0; w < windows; ++w) {
        const float* first = t.values.data() + (w * dsp::kNoteWindowFrames + kTrim) * width;
        sinks[k]->insert(sinks[k]->end(), first, first + kKeptFrames * width);
      }
    }
    grams_.frames += windows * kKeptFrames;
  }

  const NotesAnalyzer& owner_;
  dsp::NoteDecodeOptions decode_;
  size_t max_samples_ = 0;
  std::vector<size_t> index_;  // note, onset, contour → the model's output order
  std::shared_ptr<const models::LoadedModel> model_;
  std::vector<float> pending_;  // padded audio from the current window's start on
  size_t offset_ = 0;           // where the next window starts in pending_
  size_t samples_ = 0;          // audio samples taken, lead-in excluded
  std::vector<float> batch_;
  size_t batch_windows_ = 0;
  dsp::Posteriorgrams grams_;
  bool failed_ = false;
  std::string error_;
};

Result<std::unique_ptr<AnalyzerRun>> NotesAnalyzer::Start(const Params& params,
                                                          const audio::StreamInfo& stream,
                                                          const audio::AudioBlock& view_info) const {
  (void)stream;
  (void)view_info;
  return std::unique_ptr<AnalyzerRun>(std::make_unique<NotesRun>(*this, params));
}

}  // namespace

Result<std::unique_ptr<Analyzer>> MakeNotesAnalyzer(const models::ModelEntry& model,
                                                    models::ModelCache& cache,
                                                    const ModelRunOptions& options) {
  const auto& m = model.manifest;
  std::vector<std::string> problems;
  if (m.waveform.sample_rate != dsp::kNoteSampleRate) {
    problems.push_back(fmt::format("input.sample_rate is {}, not {}", m.waveform.sample_rate,
                                   dsp::kNoteSampleRate));
  }
  if (m.waveform.window != dsp::kNoteWindow) {
    problems.push_back(fmt::format("input.window is {}, not {}", m.waveform.window, dsp::kNoteWindow));
  }
  if (m.output_frames != dsp::kNoteWindowFrames) {
    problems.push_back(
        fmt::format("output.frames is {}, not {}", m.output_frames, dsp::kNoteWindowFrames));
  }
  for (const char* want : {"note", "onset", "contour"}) {
    if (std::find(m.output_names.begin(), m.output_names.end(), want) == m.output_names.end()) {
      problems.push_back(fmt::format("output.names lacks \"{}\"", want));
    }
  }
  if (!problems.empty()) {
    return InvalidArgument(fmt::format("{} is not shaped like Basic Pitch: {}", m.id,
                                       fmt::join(problems, "; ")))
        .WithReason("unsupported_transcriber");
  }
  return std::unique_ptr<Analyzer>(std::make_unique<NotesAnalyzer>(model, cache, options));
}

}  // namespace timbre::analysis
