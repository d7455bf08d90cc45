#include "timbre/dsp/logmel.h"

#include <algorithm>
#include <cmath>

namespace timbre::dsp {

LogMel::LogMel(const LogMelSpec& spec)
    : spec_(spec),
      bank_(spec.frame_size / 2 + 1, spec.sample_rate, spec.mel_bands, spec.low_hz, spec.high_hz),
      energies_(spec.mel_bands) {}

float LogMel::Compress(float energy) const {
  if (spec_.log == LogCompression::kDecibel) {
    return 10.0f * std::log10(std::max(energy, 1e-10f));
  }
  return std::log10(1.0f + static_cast<float>(spec_.log_scale) * energy);
}

void LogMel::Compute(const float* magnitude, float* out) const {
  bank_.Apply(magnitude, energies_.data());
  for (size_t b = 0; b < energies_.size(); ++b) out[b] = Compress(energies_[b]);
}

float LogMel::silence() const { return Compress(0.0f); }

PatchBuilder::PatchBuilder(size_t patch_frames, size_t patch_hop, size_t bands, float pad_value)
    : patch_frames_(std::max<size_t>(patch_frames, 1)),
      patch_hop_(std::max<size_t>(patch_hop, 1)),
      bands_(bands),
      pad_value_(pad_value) {}

void PatchBuilder::AddFrame(const float* frame) {
  if (skip_ > 0) {
    --skip_;
    return;
  }
  window_.insert(window_.end(), frame, frame + bands_);
  if (window_.size() < patch_size()) return;
  ready_.insert(ready_.end(), window_.begin(), window_.end());
  ++made_;
  const size_t drop = std::min(patch_hop_, patch_frames_);
  window_.erase(window_.begin(), window_.begin() + static_cast<std::ptrdiff_t>(drop * bands_));
  skip_ = patch_hop_ - drop;
}

void PatchBuilder::Finish() {
  if (made_ > 0) return;
  std::vector<float> patch(window_.begin(), window_.end());
  patch.resize(patch_size(), pad_value_);
  ready_.insert(ready_.end(), patch.begin(), patch.end());
  window_.clear();
  ++made_;
}

size_t PatchBuilder::Take(size_t max_patches, std::vector<float>* out) {
  const size_t n = std::min(max_patches, ready());
  const auto end = ready_.begin() + static_cast<std::ptrdiff_t>(n * patch_size());
  out->insert(out->end(), ready_.begin(), end);
  ready_.erase(ready_.begin(), end);
  return n;
}

}  // namespace timbre::dsp
