#include "timbre/dsp/stft.h"

#include <cmath>

namespace timbre::dsp {

Stft::Stft(StftSpec spec, double sample_rate, Sink sink)
    : spec_(spec),
      sample_rate_(sample_rate),
      sink_(std::move(sink)),
      fft_(spec.frame),
      window_(spec.frame),
      windowed_(spec.frame),
      magnitude_(spec.frame / 2 + 1) {
  // Periodic Hann, normalised so a full-scale sine's peak bin reads about 1.
  double sum = 0.0;
  for (size_t i = 0; i < spec.frame; ++i) {
    window_[i] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * M_PI * i / spec.frame));
    sum += window_[i];
  }
  for (auto& w : window_) w = static_cast<float>(w * 2.0 / sum);
  pending_.reserve(spec.frame * 2);
}

void Stft::Emit(const float* samples) {
  for (size_t i = 0; i < spec_.frame; ++i) windowed_[i] = samples[i] * window_[i];
  fft_.Magnitude(windowed_.data(), magnitude_.data());
  SpectrumFrame f;
  f.magnitude = magnitude_.data();
  f.bins = magnitude_.size();
  f.samples = samples;
  f.frame_size = spec_.frame;
  f.index = frames_;
  f.time = static_cast<double>(frames_ * spec_.hop) / sample_rate_;
  f.sample_rate = sample_rate_;
  sink_(f);
  ++frames_;
}

void Stft::Add(const float* mono, size_t count) {
  if (count > 0) any_input_ = true;
  pending_.insert(pending_.end(), mono, mono + count);
  size_t start = 0;
  while (pending_.size() - start >= spec_.frame) {
    Emit(pending_.data() + start);
    start += spec_.hop;
  }
  if (start > 0) {
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(start));
  }
}

void Stft::Finish() {
  // A tail shorter than a frame that no frame has covered yet: pad it with zeros.
  const bool uncovered = frames_ == 0 ? any_input_ : pending_.size() > spec_.frame - spec_.hop;
  if (!uncovered) return;
  pending_.resize(spec_.frame, 0.0f);
  Emit(pending_.data());
  pending_.clear();
}

}  // namespace timbre::dsp
