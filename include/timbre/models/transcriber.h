// Runs a transcriber model shaped like Basic Pitch over a stream of mono 22,050 Hz audio, the
// way the @spotify/basic-pitch package does: zeros first, overlapping 2 s windows run in
// batches, each window's overlapping edge frames trimmed, and the whole track's
// posteriorgrams returned at the end (decoded into notes by dsp/notes.h).
#pragma once

#include <memory>
#include <vector>

#include "timbre/core/status.h"
#include "timbre/dsp/notes.h"
#include "timbre/models/manifest.h"
#include "timbre/models/runtime.h"

namespace timbre::models {

// Ok when `m` is a transcriber with Basic Pitch's rate, window, frames and outputs; otherwise
// InvalidArgument (reason unsupported_transcriber) listing what differs.
Status CheckBasicPitchShape(const Manifest& m);

class NoteTranscriber {
 public:
  // `batch`: windows per forward pass.
  NoteTranscriber(std::shared_ptr<const LoadedModel> model, const Manifest& manifest, size_t batch);

  // Takes the next samples. A model failure is kept and returned by Finish().
  void Add(const float* samples, size_t count);
  size_t samples() const { return samples_; }

  // Runs the remaining windows and returns the posteriorgrams of the audio given.
  Result<dsp::Posteriorgrams> Finish();

 private:
  void TakeWindow();
  void RunBatch();

  std::shared_ptr<const LoadedModel> model_;
  std::string model_id_;
  std::vector<std::string> names_;
  std::vector<size_t> index_;  // note, onset, contour → the model's output order
  size_t batch_size_;
  std::vector<float> pending_;  // padded audio from the next window's start on
  size_t offset_ = 0;           // where the next window starts in pending_
  size_t samples_ = 0;          // audio samples taken, lead-in excluded
  std::vector<float> batch_;
  size_t batch_windows_ = 0;
  dsp::Posteriorgrams grams_;
  Status error_;
};

}  // namespace timbre::models
