// The log-mel frontend of neural models (docs/models.md): mel energies of magnitude spectra,
// log-compressed, cut into overlapping patches of frames. Spectra come from the shared Stft,
// so a model's frontend costs one mel projection per frame on top of the pipeline's STFT.
#pragma once

#include <cstddef>
#include <deque>
#include <vector>

#include "timbre/dsp/mel.h"
#include "timbre/dsp/stft.h"

namespace timbre::dsp {

enum class LogCompression {
  kLog10OnePlus,  // log10(1 + scale · energy)
  kDecibel,       // 10 · log10(max(energy, 1e-10))
};

struct LogMelSpec {
  int sample_rate = 16000;
  size_t frame_size = 512;
  size_t hop_size = 256;
  size_t mel_bands = 96;
  double low_hz = 0.0;
  double high_hz = 8000.0;
  LogCompression log = LogCompression::kLog10OnePlus;
  double log_scale = 10000.0;
  size_t patch_frames = 128;
  size_t patch_hop = 62;

  StftSpec stft() const { return {frame_size, hop_size}; }
  bool operator==(const LogMelSpec&) const = default;
};

// One log-mel frame per magnitude spectrum.
class LogMel {
 public:
  explicit LogMel(const LogMelSpec& spec);
  size_t bands() const { return bank_.bands(); }
  // `magnitude` holds frame_size/2 + 1 bins; `out` receives bands() values.
  void Compute(const float* magnitude, float* out) const;
  // The value of a band with no energy: what padding stands for.
  float silence() const;

 private:
  float Compress(float energy) const;

  LogMelSpec spec_;
  MelFilterbank bank_;
  mutable std::vector<float> energies_;
};

// Cuts a stream of frames into patches of `patch_frames`, one every `patch_hop` frames, and
// keeps only the frames a future patch still needs.
class PatchBuilder {
 public:
  PatchBuilder(size_t patch_frames, size_t patch_hop, size_t bands, float pad_value);

  void AddFrame(const float* frame);
  // A stream that made no patch at all gets one, padded with `pad_value`.
  void Finish();

  // Whole patches not yet taken, row-major [patch][frame][band].
  size_t ready() const { return ready_.size() / patch_size(); }
  // Moves up to `max_patches` ready patches to the end of `out`; returns how many.
  size_t Take(size_t max_patches, std::vector<float>* out);
  size_t patch_size() const { return patch_frames_ * bands_; }
  size_t patches_made() const { return made_; }

 private:
  size_t patch_frames_;
  size_t patch_hop_;
  size_t bands_;
  float pad_value_;
  std::deque<float> window_;  // frames of the next patch, row-major
  size_t skip_ = 0;           // frames to drop before the next patch starts (hop > frames)
  std::vector<float> ready_;
  size_t made_ = 0;
};

}  // namespace timbre::dsp
