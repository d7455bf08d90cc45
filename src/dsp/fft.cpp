#include "timbre/dsp/fft.h"

#include <fftw3.h>

#include <cmath>
#include <cstring>
#include <map>
#include <mutex>

namespace timbre::dsp {
namespace {

std::mutex& PlannerMutex() {
  static std::mutex mu;
  return mu;
}

// One plan per size for the life of the process (plans are small and sizes few), destroyed
// at exit so leak checkers see a clean process.
struct PlanCache {
  std::map<size_t, fftwf_plan> plans;
  ~PlanCache() {
    for (auto& [size, plan] : plans) fftwf_destroy_plan(plan);
  }
};

fftwf_plan PlanFor(size_t size) {
  static PlanCache cache;
  auto& plans = cache.plans;
  std::lock_guard lock(PlannerMutex());
  auto it = plans.find(size);
  if (it != plans.end()) return it->second;
  float* in = fftwf_alloc_real(size);
  fftwf_complex* out = fftwf_alloc_complex(size / 2 + 1);
  // FFTW_ESTIMATE: no timing runs at start-up, and identical results on every run.
  fftwf_plan plan = fftwf_plan_dft_r2c_1d(static_cast<int>(size), in, out, FFTW_ESTIMATE);
  fftwf_free(in);
  fftwf_free(out);
  plans.emplace(size, plan);
  return plan;
}

}  // namespace

struct RealFft::Buffers {
  float* in = nullptr;
  fftwf_complex* out = nullptr;
  ~Buffers() {
    fftwf_free(in);
    fftwf_free(out);
  }
};

RealFft::RealFft(size_t size) : size_(size), buffers_(std::make_unique<Buffers>()) {
  plan_ = PlanFor(size);
  // FFTW's aligned allocator, so the shared plan's SIMD alignment assumptions hold.
  buffers_->in = fftwf_alloc_real(size);
  buffers_->out = fftwf_alloc_complex(size / 2 + 1);
}

RealFft::~RealFft() = default;

void RealFft::Magnitude(const float* input, float* magnitude) {
  std::memcpy(buffers_->in, input, size_ * sizeof(float));
  fftwf_execute_dft_r2c(static_cast<fftwf_plan>(plan_), buffers_->in, buffers_->out);
  for (size_t k = 0; k < bins(); ++k) {
    // Plain sqrt(re² + im²): magnitudes of windowed audio cannot overflow, and hypotf's
    // guard against that costs more than the FFT's own bins.
    const float re = buffers_->out[k][0], im = buffers_->out[k][1];
    magnitude[k] = std::sqrt(re * re + im * im);
  }
}

}  // namespace timbre::dsp
