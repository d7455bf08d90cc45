// True peak (ITU-R BS.1770-4 annex 2): the largest magnitude of the signal upsampled 4x
// (2x from 96 kHz; from 192 kHz the samples themselves suffice).
//
// The upsampler is libebur128 1.2's: a 49-tap Hann-windowed sinc split into polyphase
// branches, coefficients under 1e-6 dropped, accumulated in double in the same tap order
// and rounded to float before the magnitude is taken, so the peak equals libebur128's bit
// for bit (the tests compare them). It is written out because libebur128 runs it one sample
// and one channel at a time through a ring buffer; here each branch runs over a whole block
// of a channel, two outputs per vector operation.
#pragma once

#include <cstddef>
#include <vector>

namespace timbre::dsp {

class TruePeakInterpolator {
 public:
  TruePeakInterpolator(double sample_rate, int channels);

  // 4, 2, or 1 when the rate needs no interpolation (then Process returns the sample peak).
  int factor() const { return factor_; }
  // The largest L1 norm of one branch: no output exceeds it times the largest input
  // magnitude among the last history()+1 samples of its channel.
  double gain() const { return gain_; }
  // How many earlier input frames one output depends on.
  size_t history() const { return history_; }

  // Runs interleaved frames through the upsampler, continuing from the previous call, and
  // returns the largest |output|.
  double Process(const float* interleaved, size_t frames);
  // Moves the delay line past interleaved frames without computing outputs, as if they had
  // been processed: for audio that cannot raise the peak.
  void Skip(const float* interleaved, size_t frames);
  // The largest |sample| in the delay line: with the next block's own samples, what bounds
  // that block's outputs (times gain()).
  double HistoryPeak() const;

 private:
  struct Branch {
    std::vector<double> coeff;
    std::vector<size_t> delay;  // input samples back from the newest
  };
  int channels_;
  int factor_ = 1;
  double gain_ = 1.0;
  size_t history_ = 0;
  std::vector<Branch> branches_;
  std::vector<std::vector<double>> line_;  // per channel: history_ samples, then the block
  std::vector<double> out_;
};

}  // namespace timbre::dsp
