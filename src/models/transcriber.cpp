#include "timbre/models/transcriber.h"

#include <algorithm>
#include <array>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace timbre::models {
namespace {

constexpr size_t kTrim = dsp::kNoteOverlapFrames / 2;  // frames dropped at each window edge
constexpr size_t kKeptFrames = dsp::kNoteWindowFrames - 2 * kTrim;
constexpr std::array<const char*, 3> kOutputs{"note", "onset", "contour"};
constexpr std::array<int64_t, 3> kBins{dsp::kNoteBins, dsp::kNoteBins, dsp::kContourBins};

}  // namespace

Status CheckBasicPitchShape(const Manifest& m) {
  std::vector<std::string> problems;
  if (m.kind != ModelKind::kTranscriber) problems.push_back("it is not a transcriber");
  if (m.waveform.sample_rate != dsp::kNoteSampleRate) {
    problems.push_back(fmt::format("input.sample_rate is {}, not {}", m.waveform.sample_rate,
                                   dsp::kNoteSampleRate));
  }
  if (m.waveform.window != dsp::kNoteWindow) {
    problems.push_back(
        fmt::format("input.window is {}, not {}", m.waveform.window, dsp::kNoteWindow));
  }
  if (m.output_frames != dsp::kNoteWindowFrames) {
    problems.push_back(
        fmt::format("output.frames is {}, not {}", m.output_frames, dsp::kNoteWindowFrames));
  }
  for (const char* want : kOutputs) {
    if (std::find(m.output_names.begin(), m.output_names.end(), want) == m.output_names.end()) {
      problems.push_back(fmt::format("output.names lacks \"{}\"", want));
    }
  }
  if (problems.empty()) return Status::Ok();
  return InvalidArgument(
             fmt::format("{} is not shaped like Basic Pitch: {}", m.id, fmt::join(problems, "; ")))
      .WithReason("unsupported_transcriber");
}

NoteTranscriber::NoteTranscriber(std::shared_ptr<const LoadedModel> model, const Manifest& manifest,
                                 size_t batch)
    : model_(std::move(model)),
      model_id_(manifest.id),
      names_(manifest.output_names),
      batch_size_(std::max<size_t>(1, batch)),
      pending_(dsp::kNoteLeadIn, 0.0f) {
  for (const char* want : kOutputs) {
    index_.push_back(
        static_cast<size_t>(std::find(names_.begin(), names_.end(), want) - names_.begin()));
  }
}

void NoteTranscriber::Add(const float* samples, size_t count) {
  if (!error_.ok()) return;
  pending_.insert(pending_.end(), samples, samples + count);
  samples_ += count;
  while (error_.ok() && pending_.size() - offset_ >= dsp::kNoteWindow) TakeWindow();
}

Result<dsp::Posteriorgrams> NoteTranscriber::Finish() {
  // The package frames the padded signal with zeros past its end, so every window that
  // starts inside it runs; without audio there is nothing to run.
  if (samples_ > 0) {
    while (error_.ok() && offset_ < pending_.size()) TakeWindow();
    if (error_.ok() && batch_windows_ > 0) RunBatch();
  }
  if (!error_.ok()) return error_;
  const size_t frames = std::min(grams_.frames, dsp::NoteFramesFor(samples_));
  grams_.frames = frames;
  grams_.note.resize(frames * dsp::kNoteBins);
  grams_.onset.resize(frames * dsp::kNoteBins);
  grams_.contour.resize(frames * dsp::kContourBins);
  return std::move(grams_);
}

void NoteTranscriber::TakeWindow() {
  const size_t have = std::min(dsp::kNoteWindow, pending_.size() - offset_);
  const auto first = pending_.begin() + static_cast<std::ptrdiff_t>(offset_);
  batch_.insert(batch_.end(), first, first + static_cast<std::ptrdiff_t>(have));
  batch_.resize(batch_.size() + (dsp::kNoteWindow - have), 0.0f);
  ++batch_windows_;
  offset_ += dsp::kNoteWindowHop;
  if (offset_ >= pending_.size()) {
    pending_.clear();
    offset_ = 0;
  } else if (offset_ > (size_t{1} << 20)) {  // compact now and then, not per window
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(offset_));
    offset_ = 0;
  }
  if (batch_windows_ >= batch_size_) RunBatch();
}

void NoteTranscriber::RunBatch() {
  const size_t windows = batch_windows_;
  batch_windows_ = 0;
  const std::vector<int64_t> shape{static_cast<int64_t>(windows),
                                   static_cast<int64_t>(dsp::kNoteWindow)};
  std::vector<Tensor> outputs;
  std::string error;
  const bool ran = model_->ForwardAll(batch_.data(), shape, &outputs, &error);
  batch_.clear();
  if (!ran) {
    error_ = InvalidArgument(fmt::format("{}: {}", model_id_, error)).WithReason("model_failed");
    return;
  }
  if (outputs.size() != names_.size()) {
    error_ = InvalidArgument(fmt::format("{} returned {} outputs; its manifest names {}", model_id_,
                                         outputs.size(), names_.size()))
                 .WithReason("output_mismatch");
    return;
  }
  std::array<std::vector<float>*, 3> sinks{&grams_.note, &grams_.onset, &grams_.contour};
  for (size_t k = 0; k < kOutputs.size(); ++k) {
    const Tensor& t = outputs[index_[k]];
    const std::vector<int64_t> want{static_cast<int64_t>(windows),
                                    static_cast<int64_t>(dsp::kNoteWindowFrames), kBins[k]};
    if (t.shape != want) {
      error_ =
          InvalidArgument(fmt::format("{} output {} has shape [{}], expected [{}]", model_id_,
                                      kOutputs[k], fmt::join(t.shape, ", "), fmt::join(want, ", ")))
              .WithReason("output_mismatch");
      return;
    }
    if (!std::all_of(t.values.begin(), t.values.end(), [](float v) { return std::isfinite(v); })) {
      error_ = Corrupt(fmt::format("{} returned a value that is not finite", model_id_))
                   .WithReason("model_output_not_finite");
      return;
    }
    const auto width = static_cast<size_t>(kBins[k]);
    for (size_t w = 0; w < windows; ++w) {
      const float* from = t.values.data() + (w * dsp::kNoteWindowFrames + kTrim) * width;
      sinks[k]->insert(sinks[k]->end(), from, from + kKeptFrames * width);
    }
  }
  grams_.frames += windows * kKeptFrames;
}

}  // namespace timbre::models
