// rhythm: global tempo (BPM) with a confidence, beat positions, onset rate and a
// danceability measure, from a spectral-flux onset envelope (see dsp/rhythm.h).
#include <cmath>

#include <fmt/format.h>

#include "builtin/builtin.h"
#include "timbre/dsp/rhythm.h"

namespace timbre::analysis {
namespace {

constexpr dsp::StftSpec kStft{2048, 512};

// Beat times as comma-separated millisecond gaps: the first beat's time, then each
// difference. About four characters a beat.
std::string EncodeBeats(const std::vector<double>& beats) {
  std::string out;
  long previous = 0;
  for (double t : beats) {
    const long ms = std::lround(t * 1000.0);
    if (!out.empty()) out += ',';
    out += std::to_string(ms - previous);
    previous = ms;
  }
  return out;
}

class RhythmRun : public AnalyzerRun {
 public:
  RhythmRun(const Params& params, double sample_rate)
      : onsets_(kStft.frame / 2 + 1, sample_rate), sample_rate_(sample_rate) {
    options_.min_bpm = params.at("min_bpm");
    options_.max_bpm = params.at("max_bpm");
    options_.prior_bpm = params.at("prior_bpm");
    options_.prior_octaves = params.at("prior_octaves");
  }

  void ConsumeSpectrum(const dsp::SpectrumFrame& frame) override { onsets_.AddFrame(frame); }

  Result<Output> Finish(const audio::DecodeReport&) override {
    Output out;
    const double frame_rate = sample_rate_ / static_cast<double>(kStft.hop);
    // Envelope value i measures the change into frame i, centred half a frame in.
    const double offset = static_cast<double>(kStft.frame) / 2.0 / sample_rate_;
    auto r = dsp::AnalyzeRhythm(onsets_.envelope(), frame_rate, offset, options_);
    if (!r) {
      out.numbers["bpm_confidence"] = 0.0;
      out.notes.push_back("no tempo: too short, silent or without a pulse");
      return out;
    }
    out.numbers["bpm"] = r->bpm;
    out.numbers["bpm_confidence"] = r->confidence;
    out.numbers["onset_rate"] = r->onset_rate;
    out.numbers["danceability"] = r->beat_alignment;
    out.numbers["beat_count"] = static_cast<double>(r->beats.size());
    out.texts["beats_ms"] = EncodeBeats(r->beats);
    return out;
  }

 private:
  dsp::OnsetDetector onsets_;
  double sample_rate_;
  dsp::RhythmOptions options_;
};

class RhythmAnalyzer : public BuiltinAnalyzer {
 public:
  RhythmAnalyzer() {
    info_.name = "rhythm";
    info_.version = 1;
    info_.description =
        "Tempo (BPM, within min_bpm..max_bpm; a log-normal prior around prior_bpm settles "
        "octave ambiguity), beat positions, onset rate and danceability.";
    info_.view = {44100, 1};
    info_.window = "whole stream";
    info_.stft = kStft;
    info_.params = {
        {"min_bpm", 60, 30, 300, "BPM", "slowest tempo reported"},
        {"max_bpm", 200, 40, 400, "BPM", "fastest tempo reported"},
        {"prior_bpm", 140, 40, 300, "BPM", "centre of the tempo prior"},
        {"prior_octaves", 0.9, 0.1, 10, "octaves", "width (standard deviation) of the tempo prior"},
    };
    info_.outputs = {
        {"bpm", "BPM", "global tempo in quarter-note beats per minute", false},
        {"bpm_confidence", "", "0..1, strength of the periodicity at the chosen tempo", false},
        {"onset_rate", "1/s", "onsets per second", false},
        {"danceability", "", "0..1, share of onset strength that falls on the beats", false},
        {"beat_count", "", "number of beats found", false},
        {"beats_ms", "ms", "beat times: first time, then gaps, comma-separated", true},
    };
  }
  Result<std::unique_ptr<AnalyzerRun>> Start(const Params& params, const audio::StreamInfo&,
                                             const audio::AudioBlock& view) const override {
    if (params.at("min_bpm") >= params.at("max_bpm")) {
      return InvalidArgument("rhythm: min_bpm must be below max_bpm");
    }
    return std::unique_ptr<AnalyzerRun>(std::make_unique<RhythmRun>(params, view.sample_rate));
  }
};

}  // namespace

std::unique_ptr<Analyzer> MakeRhythmAnalyzer() { return std::make_unique<RhythmAnalyzer>(); }

}  // namespace timbre::analysis
