// Tempo, beats and onsets from an onset-strength envelope.
//
// OnsetDetector turns magnitude spectra into a spectral-flux envelope on 40 log-compressed
// mel bands (one value per frame). AnalyzeRhythm then:
//  - removes the envelope's local mean (1 s) and half-wave rectifies it;
//  - autocorrelates it and scores each beat period P in the BPM range (autocorrelation
//    peaks only) by r(P) + r(2P) + r(P/2)/2, times a log-normal tempo prior; the winning
//    period is refined to a fraction of a frame from the autocorrelation peak at its
//    largest multiple within reach;
//  - places beats by dynamic programming (Ellis 2007): onset strength on the beat plus a
//    penalty on deviation from the period;
//  - counts onsets (envelope peaks above the mean + one standard deviation, 50 ms apart).
// Octaves: the BPM range bounds the answer, and the prior (centred at `prior_bpm`, with a
// standard deviation of `prior_octaves`) chooses between a period and its double or half
// inside that range. The defaults (140 BPM, 0.9 octave) were chosen on the development
// corpus (docs/descriptors.md); both are parameters of the rhythm analyzer.
#pragma once

#include <optional>
#include <vector>

#include "timbre/dsp/mel.h"
#include "timbre/dsp/stft.h"

namespace timbre::dsp {

class OnsetDetector {
 public:
  OnsetDetector(size_t bins, double sample_rate);
  void AddFrame(const SpectrumFrame& frame);
  const std::vector<float>& envelope() const { return envelope_; }

 private:
  MelFilterbank bank_;
  std::vector<float> bands_;
  std::vector<float> previous_;
  bool first_ = true;
  std::vector<float> envelope_;
};

struct RhythmOptions {
  double min_bpm = 60.0;
  double max_bpm = 200.0;
  double prior_bpm = 140.0;
  double prior_octaves = 0.9;  // standard deviation of the log2 tempo prior
  // No tempo is reported when the onset envelope's coefficient of variation is under this:
  // steady tones and noise, whose envelope has no onsets standing out.
  double min_variation = 2.5;
};

struct RhythmResult {
  double bpm = 0.0;
  double confidence = 0.0;      // 0..1: autocorrelation of the mean-removed envelope at the
                                // beat period over that at lag 0
  double onset_rate = 0.0;      // onsets per second
  double beat_alignment = 0.0;  // 0..1: share of onset strength within 70 ms of a beat
  std::vector<double> beats;    // seconds
};

// `frame_rate` is envelope values per second; `time_offset` the time of value 0 (s).
// nullopt when there is no pulse to measure (silence, too short, no onsets).
std::optional<RhythmResult> AnalyzeRhythm(const std::vector<float>& envelope, double frame_rate,
                                          double time_offset, const RhythmOptions& options);

}  // namespace timbre::dsp
