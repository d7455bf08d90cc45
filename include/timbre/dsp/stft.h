// A streaming short-time Fourier transform of mono audio: Hann-windowed frames of `frame`
// samples every `hop` samples, delivered as magnitude spectra. The first frame starts at
// sample 0; a final partial frame is zero-padded so short inputs still give one frame.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "timbre/dsp/fft.h"

namespace timbre::dsp {

struct StftSpec {
  size_t frame = 2048;
  size_t hop = 1024;
  bool operator==(const StftSpec&) const = default;
};

// One analysis frame: magnitudes of bins 0..frame/2, and the frame's samples (windowless)
// for time-domain features such as zero-crossing rate.
struct SpectrumFrame {
  const float* magnitude = nullptr;
  size_t bins = 0;
  const float* samples = nullptr;
  size_t frame_size = 0;
  size_t index = 0;   // frame number
  double time = 0.0;  // start of the frame, s
  double sample_rate = 0.0;
  double bin_hz() const { return sample_rate / static_cast<double>(frame_size); }
};

class Stft {
 public:
  using Sink = std::function<void(const SpectrumFrame&)>;
  Stft(StftSpec spec, double sample_rate, Sink sink);

  void Add(const float* mono, size_t count);
  // Emits the zero-padded last frame (if any samples are pending) and resets nothing else.
  void Finish();
  size_t frames() const { return frames_; }

 private:
  void Emit(const float* samples);

  StftSpec spec_;
  double sample_rate_;
  Sink sink_;
  RealFft fft_;
  std::vector<float> window_;
  std::vector<float> pending_;  // samples not yet consumed by a frame
  std::vector<float> windowed_;
  std::vector<float> magnitude_;
  size_t frames_ = 0;
  bool any_input_ = false;
};

}  // namespace timbre::dsp
