// loudness: EBU R 128 integrated loudness, loudness range, sample and true peak, and
// ReplayGain 2.0 track gain, through dsp::LoudnessMeter on the native rate and channels
// (R 128 weights channels, so no downmix). The block histogram is kept so album gain can
// be computed once the whole album is scanned.
#include <cmath>

#include <fmt/format.h>

#include "builtin/builtin.h"
#include "timbre/dsp/loudness.h"

namespace timbre::analysis {
namespace {

double ToDb(double linear) { return 20.0 * std::log10(linear); }

class LoudnessRun : public AnalyzerRun {
 public:
  LoudnessRun(std::unique_ptr<dsp::LoudnessMeter> meter, int sample_rate)
      : meter_(std::move(meter)), sample_rate_(sample_rate) {}

  bool Consume(const audio::AudioBlock& block) override {
    meter_->Add(block.samples, block.frames);
    return true;
  }

  Result<Output> Finish(const audio::DecodeReport&) override {
    dsp::LoudnessResult r = meter_->Finish();
    Output out;
    if (r.integrated_lufs) {
      out.numbers["integrated"] = *r.integrated_lufs;
      out.numbers["replaygain_track_gain"] = dsp::ReplayGainDb(*r.integrated_lufs);
    } else if (!r.weighted) {
      out.notes.push_back(
          fmt::format("no integrated loudness: the audio is sampled at {} Hz, and BS.1770's "
                      "weighting needs at least {} Hz",
                      sample_rate_, dsp::kMinLoudnessRate));
    } else {
      out.notes.push_back("no integrated loudness: the audio is silent or shorter than 400 ms");
    }
    if (r.loudness_range_lu) out.numbers["range"] = *r.loudness_range_lu;
    out.numbers["sample_peak"] = r.sample_peak;
    out.numbers["true_peak"] = r.true_peak;
    out.numbers["replaygain_track_peak"] = r.true_peak;
    if (r.true_peak > 0.0) {
      out.numbers["true_peak_db"] = ToDb(r.true_peak);
    } else {
      out.notes.push_back("digital silence: no peak level in dB");
    }
    out.texts["block_histogram"] = r.histogram.Encode();
    return out;
  }

 private:
  std::unique_ptr<dsp::LoudnessMeter> meter_;
  int sample_rate_;
};

class LoudnessAnalyzer : public BuiltinAnalyzer {
 public:
  LoudnessAnalyzer() {
    info_.name = "loudness";
    info_.version = 1;
    info_.description =
        "EBU R 128 loudness (BS.1770-4, measured as libebur128 does): integrated, range, "
        "sample and true peak; "
        "ReplayGain 2.0 track gain (-18 LUFS reference) and peak.";
    info_.view = {0, 0};
    info_.window = "whole stream";
    info_.params = {
        {"true_peak", 1, 0, 1, "", "measure true peak (4x oversampled) instead of sample peak"},
    };
    info_.outputs = {
        {"integrated", "LUFS", "gated integrated loudness", false},
        {"range", "LU", "loudness range (EBU Tech 3342)", false},
        {"sample_peak", "FS", "largest absolute sample, 1.0 = full scale", false},
        {"true_peak", "FS", "largest absolute value of the 4x oversampled signal", false},
        {"true_peak_db", "dBTP", "true peak in dB relative to full scale", false},
        {"replaygain_track_gain", "dB", "gain to -18 LUFS (ReplayGain 2.0)", false},
        {"replaygain_track_peak", "FS", "peak for clipping prevention (true peak)", false},
        {"block_histogram", "", "400 ms block loudness histogram, for album gain", true},
    };
  }
  Result<std::unique_ptr<AnalyzerRun>> Start(const Params& params, const audio::StreamInfo&,
                                             const audio::AudioBlock& view) const override {
    dsp::LoudnessOptions options;
    options.true_peak = params.at("true_peak") >= 0.5;
    auto meter = dsp::LoudnessMeter::Create(view.sample_rate, view.channels, options);
    if (!meter.ok()) return meter.status();
    return std::unique_ptr<AnalyzerRun>(
        std::make_unique<LoudnessRun>(std::move(meter).value(), view.sample_rate));
  }
};

}  // namespace

std::unique_ptr<Analyzer> MakeLoudnessAnalyzer() { return std::make_unique<LoudnessAnalyzer>(); }

}  // namespace timbre::analysis
