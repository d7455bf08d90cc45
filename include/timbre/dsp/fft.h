// Real-input FFT through FFTW3 (single precision). Plans are made once per size and shared:
// FFTW's planner is not thread-safe, so plan creation is serialised, while execution with
// per-caller buffers (the new-array interface) may run on any number of threads at once.
#pragma once

#include <complex>
#include <cstddef>
#include <memory>
#include <vector>

namespace timbre::dsp {

class RealFft {
 public:
  // size must be even and > 0.
  explicit RealFft(size_t size);
  ~RealFft();
  RealFft(const RealFft&) = delete;
  RealFft& operator=(const RealFft&) = delete;

  size_t size() const { return size_; }
  size_t bins() const { return size_ / 2 + 1; }

  // Writes |X[k]| for k in [0, bins()) of `input` (size() samples).
  void Magnitude(const float* input, float* magnitude);

 private:
  size_t size_;
  struct Buffers;
  std::unique_ptr<Buffers> buffers_;
  void* plan_;  // fftwf_plan, shared and owned by the plan cache
};

}  // namespace timbre::dsp
