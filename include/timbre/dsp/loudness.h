// EBU R 128 loudness: integrated loudness, loudness range, sample and true peak, and the
// block-loudness histogram that lets album loudness be computed later from stored per-track
// data, exactly as over the whole album.
//
// The measurement is libebur128's (its K-weighting, 400 ms blocks every 100 ms, 3 s
// short-term windows every second, histogram-mode gating and percentiles, true-peak
// upsampler; see k_weighting.h and true_peak.h), and the tests hold it equal to libebur128
// on the same audio. Energies are kept per 100 ms chunk, so each sample is filtered and
// squared once instead of once per block and window that covers it.
//
// True peak is only computed on the chunks whose samples could raise the answer: an
// upsampled value is at most G times the largest input sample in the filter's window, G
// being the largest L1 norm of one branch of the upsampler. A chunk whose window peak times
// G stays under the true peak already known is skipped. The result equals the full
// computation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "timbre/core/status.h"

namespace timbre::dsp {

// Counts of 400 ms gating blocks in 0.1 LU bins from -70 LUFS (bin 999 holds everything
// from -0.1 LUFS up), the binning of libebur128's histogram mode.
class LoudnessHistogram {
 public:
  static constexpr int kBins = 1000;

  LoudnessHistogram() : counts_(kBins, 0) {}

  void AddBlock(double block_lufs);
  void Merge(const LoudnessHistogram& other);
  uint64_t blocks() const;
  const std::vector<uint32_t>& counts() const { return counts_; }

  // Gated integrated loudness (absolute gate -70 LUFS, relative gate -10 LU) over the
  // blocks counted; nullopt when no block passes the gates (silence, under 400 ms).
  std::optional<double> IntegratedLufs() const;
  // EBU Tech 3342 loudness range over the blocks counted (meant for 3 s short-term
  // windows): relative gate -20 LU, then the 95th minus the 10th percentile, read off the
  // bins as libebur128's histogram mode does; 0 when no block passes the gates.
  double RangeLu() const;

  // Compact text form "bin:count,bin:count" of the non-empty bins, for storage.
  std::string Encode() const;
  static Result<LoudnessHistogram> Decode(std::string_view text);

 private:
  struct Sum {
    double energy = 0.0;  // bin-centre energy times count, summed
    uint64_t blocks = 0;
    double Mean() const { return energy / static_cast<double>(blocks); }
  };
  Sum SumFrom(int start) const;  // over the bins from `start` up
  static int FirstBinAbove(double gate_energy);

  std::vector<uint32_t> counts_;
};

struct LoudnessOptions {
  bool loudness_range = true;
  bool true_peak = true;
  // Run true peak over every sample instead of only where it can change the answer;
  // the reference the optimisation is tested against.
  bool exhaustive_true_peak = false;
};

// BS.1770's K-weighting boosts above a 1.68 kHz shelf, which must lie under the Nyquist
// frequency; audio sampled slower has no defined loudness, only peaks.
constexpr int kMinLoudnessRate = 3400;

struct LoudnessResult {
  bool weighted = true;                     // false: under kMinLoudnessRate, peaks only
  std::optional<double> integrated_lufs;    // LUFS; nullopt for silence or < 400 ms
  std::optional<double> loudness_range_lu;  // LU; nullopt when it cannot be measured
  double sample_peak = 0.0;                 // linear, 1.0 = full scale
  double true_peak = 0.0;                   // linear; equals sample_peak when not measured
  double true_peak_fraction = 0.0;          // share of the audio the interpolator actually ran on
  LoudnessHistogram histogram;
};

// Streams interleaved float audio (full scale 1.0). Not thread-safe; one per track.
class LoudnessMeter {
 public:
  static Result<std::unique_ptr<LoudnessMeter>> Create(int sample_rate, int channels,
                                                       LoudnessOptions options = {});
  ~LoudnessMeter();
  LoudnessMeter(const LoudnessMeter&) = delete;
  LoudnessMeter& operator=(const LoudnessMeter&) = delete;

  void Add(const float* interleaved, size_t frames);
  LoudnessResult Finish();

 private:
  struct Impl;
  explicit LoudnessMeter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ReplayGain 2.0: gain to bring a loudness to the -18 LUFS reference.
constexpr double kReplayGainReferenceLufs = -18.0;
inline double ReplayGainDb(double lufs) { return kReplayGainReferenceLufs - lufs; }

}  // namespace timbre::dsp
