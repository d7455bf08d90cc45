#include "timbre/dsp/k_weighting.h"

#include <cfloat>
#include <cmath>

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

namespace timbre::dsp {
namespace {

// Two doubles in one register; GCC and Clang lower the arithmetic to SSE2 (or scalar code),
// lane by lane in the written order, so each lane rounds exactly as the scalar recurrence.
using Pair = double __attribute__((vector_size(16)));

// A decaying recurrence over silence walks into subnormal numbers, which are slow on x86;
// flushing them to zero, as libebur128 does, costs nothing measurable in the result.
class FlushToZero {
 public:
#if defined(__SSE2__)
  FlushToZero() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | _MM_FLUSH_ZERO_ON); }
  ~FlushToZero() { _mm_setcsr(saved_); }

 private:
  unsigned int saved_;
#endif
};

// The filter's state for one lane (double) or two (Pair), in named values so that they stay
// in registers. One step is libebur128's, in its order:
// v0 = x - a1 v1 - a2 v2 - a3 v3 - a4 v4, y = b0 v0 + b1 v1 + ... + b4 v4.
template <typename T>
struct Recurrence {
  T v1, v2, v3, v4;

  T Step(T x, const std::array<double, 5>& a, const std::array<double, 5>& b) {
    const T v0 = x - a[1] * v1 - a[2] * v2 - a[3] * v3 - a[4] * v4;
    const T y = b[0] * v0 + b[1] * v1 + b[2] * v2 + b[3] * v3 + b[4] * v4;
    v4 = v3;
    v3 = v2;
    v2 = v1;
    v1 = v0;
    return y;
  }
};

}  // namespace

double ChannelWeight(int channel, int channels) {
  constexpr double kSurround = 1.41;
  if (channels == 4) return channel < 2 ? 1.0 : kSurround;
  if (channels == 5) return channel < 3 ? 1.0 : kSurround;
  switch (channel) {
    case 0:
    case 1:
    case 2:
      return 1.0;
    case 4:
    case 5:
      return kSurround;
    default:
      return 0.0;  // LFE (fourth channel) and anything past the sixth
  }
}

KWeighting::KWeighting(double sample_rate, int channels)
    : channels_(channels), state_(static_cast<size_t>(channels)) {
  // Stage 1: high shelf (+4 dB above ~1.7 kHz); stage 2: the RLB high-pass (~38 Hz). The
  // constants are BS.1770's filter re-derived for any sample rate, as libebur128 does.
  double f0 = 1681.974450955533, gain_db = 3.999843853973347, q = 0.7071752369554196;
  double k = std::tan(M_PI * f0 / sample_rate);
  const double vh = std::pow(10.0, gain_db / 20.0);
  const double vb = std::pow(vh, 0.4996667741545416);
  const double a0 = 1.0 + k / q + k * k;
  const double pb[3] = {(vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0,
                        (vh - vb * k / q + k * k) / a0};
  const double pa[3] = {1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0};
  f0 = 38.13547087602444;
  q = 0.5003270373238773;
  k = std::tan(M_PI * f0 / sample_rate);
  const double rb[3] = {1.0, -2.0, 1.0};
  const double ra[3] = {1.0, 2.0 * (k * k - 1.0) / (1.0 + k / q + k * k),
                        (1.0 - k / q + k * k) / (1.0 + k / q + k * k)};
  // The cascade as one filter: the products of the two stages' polynomials.
  b_ = {pb[0] * rb[0], pb[0] * rb[1] + pb[1] * rb[0], pb[0] * rb[2] + pb[1] * rb[1] + pb[2] * rb[0],
        pb[1] * rb[2] + pb[2] * rb[1], pb[2] * rb[2]};
  a_ = {pa[0] * ra[0], pa[0] * ra[1] + pa[1] * ra[0], pa[0] * ra[2] + pa[1] * ra[1] + pa[2] * ra[0],
        pa[1] * ra[2] + pa[2] * ra[1], pa[2] * ra[2]};
  for (int c = 0; c < channels; ++c) {
    weight_.push_back(ChannelWeight(c, channels));
    if (weight_.back() > 0.0) used_.push_back(c);
  }
}

double KWeighting::FilterEnergy(const float* interleaved, size_t frames) {
  const FlushToZero ftz;
  std::vector<double>& sums = sums_;
  sums.assign(static_cast<size_t>(channels_), 0.0);
  size_t i = 0;
  for (; i + 1 < used_.size(); i += 2) {
    FilterPair(interleaved, frames, used_[i], used_[i + 1], sums.data());
  }
  if (i < used_.size()) FilterOne(interleaved, frames, used_[i], sums.data());
  double energy = 0.0;
  for (int c : used_) {
    // Where flush-to-zero is not available, clear subnormal state between calls instead.
    for (double& v : state_[static_cast<size_t>(c)]) v = std::fabs(v) < DBL_MIN ? 0.0 : v;
    energy += sums[static_cast<size_t>(c)] * weight_[static_cast<size_t>(c)];
  }
  return energy;
}

// Two channels share a two-lane recurrence.
void KWeighting::FilterPair(const float* in, size_t frames, int first, int second, double* sums) {
  const size_t ch = static_cast<size_t>(channels_);
  const size_t c0 = static_cast<size_t>(first);
  const size_t c1 = static_cast<size_t>(second);
  State& s0 = state_[c0];
  State& s1 = state_[c1];
  Recurrence<Pair> r{{s0[0], s1[0]}, {s0[1], s1[1]}, {s0[2], s1[2]}, {s0[3], s1[3]}};
  Pair sum = {0.0, 0.0};
  for (size_t i = 0; i < frames; ++i) {
    const Pair y = r.Step(
        Pair{static_cast<double>(in[i * ch + c0]), static_cast<double>(in[i * ch + c1])}, a_, b_);
    sum += y * y;
  }
  s0 = {r.v1[0], r.v2[0], r.v3[0], r.v4[0]};
  s1 = {r.v1[1], r.v2[1], r.v3[1], r.v4[1]};
  sums[c0] += sum[0];
  sums[c1] += sum[1];
}

void KWeighting::FilterOne(const float* in, size_t frames, int channel, double* sums) {
  const size_t ch = static_cast<size_t>(channels_);
  const size_t c = static_cast<size_t>(channel);
  State& s = state_[c];
  Recurrence<double> r{s[0], s[1], s[2], s[3]};
  double sum = 0.0;
  for (size_t i = 0; i < frames; ++i) {
    const double y = r.Step(static_cast<double>(in[i * ch + c]), a_, b_);
    sum += y * y;
  }
  s = {r.v1, r.v2, r.v3, r.v4};
  sums[c] += sum;
}

}  // namespace timbre::dsp
