// ITU-R BS.1770-4 K-weighting and the channel-weighted energy of the filtered signal.
//
// The filter is built and run as libebur128 1.2 does it (its two stages folded into one
// fourth-order IIR with the same coefficients, the same operation order and flush-to-zero),
// so loudness measured on it equals libebur128's to rounding; the tests compare the two.
// It is written out because libebur128 filters channels one after another in scalar code
// and sums every 400 ms block and 3 s window from scratch, which alone cost more than
// decoding; here a channel pair runs through one two-lane recurrence and the caller keeps
// 100 ms sums.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

namespace timbre::dsp {

// Weight of a channel in the loudness sum, from its position, as libebur128's default map:
// 4 channels L R Ls Rs; 5 channels L R C Ls Rs; otherwise L R C LFE Ls Rs (LFE and channels
// past the sixth weigh 0). Surrounds weigh 1.41, the others 1.
double ChannelWeight(int channel, int channels);

class KWeighting {
 public:
  KWeighting(double sample_rate, int channels);

  // Filters `frames` interleaved frames, continuing from the previous call, and returns the
  // sum over them of each channel's squared output times the channel's weight.
  double FilterEnergy(const float* interleaved, size_t frames);

 private:
  using State = std::array<double, 4>;  // the filter's delay line, newest first
  void FilterPair(const float* interleaved, size_t frames, int first, int second, double* sums);
  void FilterOne(const float* interleaved, size_t frames, int channel, double* sums);

  int channels_;
  std::array<double, 5> a_{};
  std::array<double, 5> b_{};
  std::vector<State> state_;
  std::vector<double> weight_;
  std::vector<int> used_;     // channels with a weight, in order
  std::vector<double> sums_;  // per channel, reused by each FilterEnergy
};

}  // namespace timbre::dsp
