// spectral: timbre descriptors from the STFT shared with rhythm (2048-sample frames, hop 512,
// of which every other frame is used: hop 1024, Essentia's low-level framing):
// 13 MFCCs (mean, variance, covariance), centroid, roll-off, flatness, flux, contrast,
// zero-crossing rate, frame loudness, dynamic complexity and silence ratio. Shape values are
// summarised over non-silent frames (above -60 dBFS) so pauses do not drag them to zero.
#include <cmath>

#include <fmt/format.h>

#include "builtin/builtin.h"
#include "timbre/dsp/mel.h"
#include "timbre/dsp/spectral.h"

namespace timbre::analysis {
namespace {

constexpr dsp::StftSpec kStft{2048, 512};
constexpr size_t kMfcc = 13;

struct Summary {
  const char* name;
  const char* unit;
  const char* what;
};
constexpr Summary kShapes[] = {
    {"centroid", "Hz", "spectral centroid"},
    {"rolloff", "Hz", "frequency under which 85 % of the energy lies"},
    {"flatness", "", "spectral flatness, 0 (tonal) .. 1 (noise)"},
    {"flux", "", "change between consecutive normalised spectra"},
    {"zcr", "", "zero crossings per sample"},
    {"loudness", "dBFS", "frame RMS level"},
};

class SpectralRun : public AnalyzerRun {
 public:
  explicit SpectralRun(double sample_rate)
      : mfcc_(kStft.frame / 2 + 1, sample_rate, 40, kMfcc),
        coefficients_(kMfcc),
        mfcc_stats_(kMfcc) {}

  void ConsumeSpectrum(const dsp::SpectrumFrame& frame) override {
    if (frame.index % 2 != 0) return;
    ++frames_;
    const dsp::FrameShape s = shape_.Measure(frame);
    if (s.silent) {
      ++silent_;
      return;
    }
    const double values[] = {s.centroid_hz, s.rolloff_hz, s.flatness, s.flux, s.zcr, s.rms_db};
    for (size_t i = 0; i < std::size(values); ++i) stats_[i].Add(values[i]);
    for (size_t b = 0; b < dsp::kContrastBands; ++b) contrast_[b].Add(s.contrast_db[b]);
    mfcc_.Compute(frame.magnitude, coefficients_.data());
    mfcc_stats_.Add(coefficients_.data());
  }

  Result<Output> Finish(const audio::DecodeReport&) override {
    Output out;
    out.numbers["silence_ratio"] =
        frames_ > 0 ? static_cast<double>(silent_) / static_cast<double>(frames_) : 1.0;
    if (mfcc_stats_.count() == 0) {
      out.notes.push_back("no spectral descriptors: the audio is silent");
      return out;
    }
    for (size_t i = 0; i < std::size(kShapes); ++i) {
      out.numbers[fmt::format("{}_mean", kShapes[i].name)] = stats_[i].mean();
      out.numbers[fmt::format("{}_std", kShapes[i].name)] = stats_[i].stddev();
    }
    // Mean absolute deviation of the frame level from its mean: how much the level moves.
    out.numbers["dynamic_complexity"] = stats_[5].stddev() * std::sqrt(2.0 / M_PI);
    for (size_t b = 0; b < dsp::kContrastBands; ++b) {
      out.numbers[fmt::format("contrast_{}", b)] = contrast_[b].mean();
    }
    const auto cov = mfcc_stats_.Covariance();
    std::string packed;
    for (size_t i = 0; i < kMfcc; ++i) {
      out.numbers[fmt::format("mfcc_mean_{}", i)] = mfcc_stats_.mean()[i];
      out.numbers[fmt::format("mfcc_var_{}", i)] = cov[i * kMfcc + i];
      for (size_t j = i; j < kMfcc; ++j) {
        packed += (packed.empty() ? "" : ",") + fmt::format("{:.6g}", cov[i * kMfcc + j]);
      }
    }
    out.texts["mfcc_cov"] = packed;
    return out;
  }

 private:
  dsp::Mfcc mfcc_;
  std::vector<float> coefficients_;
  dsp::RunningCovariance mfcc_stats_;
  dsp::SpectralShape shape_;
  dsp::RunningStats stats_[std::size(kShapes)];
  dsp::RunningStats contrast_[dsp::kContrastBands];
  size_t frames_ = 0;
  size_t silent_ = 0;
};

class SpectralAnalyzer : public BuiltinAnalyzer {
 public:
  SpectralAnalyzer() {
    info_.name = "spectral";
    info_.version = 1;
    info_.description =
        "Timbre: 13 MFCCs (40 mel bands to 11 kHz; mean, variance, covariance), spectral "
        "centroid, roll-off, flatness, flux, contrast, zero-crossing rate, frame loudness, "
        "dynamic complexity, silence ratio.";
    info_.view = {44100, 1};
    info_.window = "whole stream";
    info_.stft = kStft;
    for (const auto& s : kShapes) {
      info_.outputs.push_back(
          {fmt::format("{}_mean", s.name), s.unit, std::string(s.what) + ", mean", false});
      info_.outputs.push_back({fmt::format("{}_std", s.name), s.unit,
                               std::string(s.what) + ", standard deviation", false});
    }
    info_.outputs.push_back(
        {"dynamic_complexity", "dB", "mean absolute deviation of the frame level", false});
    info_.outputs.push_back({"silence_ratio", "", "share of frames under -60 dBFS", false});
    for (size_t b = 0; b < dsp::kContrastBands; ++b) {
      info_.outputs.push_back({fmt::format("contrast_{}", b), "dB",
                               fmt::format("spectral contrast, octave band {} from 200 Hz", b),
                               false});
    }
    for (size_t i = 0; i < kMfcc; ++i) {
      info_.outputs.push_back({fmt::format("mfcc_mean_{}", i), "", "MFCC mean", false});
      info_.outputs.push_back({fmt::format("mfcc_var_{}", i), "", "MFCC variance", false});
    }
    info_.outputs.push_back({"mfcc_cov", "", "MFCC covariance, upper triangle row by row", true});
  }
  Result<std::unique_ptr<AnalyzerRun>> Start(const Params&, const audio::StreamInfo&,
                                             const audio::AudioBlock& view) const override {
    return std::unique_ptr<AnalyzerRun>(std::make_unique<SpectralRun>(view.sample_rate));
  }
};

}  // namespace

std::unique_ptr<Analyzer> MakeSpectralAnalyzer() { return std::make_unique<SpectralAnalyzer>(); }

}  // namespace timbre::analysis
