// The analyzer contract. Every analyzer declares its name, version, description, the audio
// view it reads, its parameters (defaults and ranges) and its outputs (with units); the
// pipeline fills provenance from this declaration, never by hand.
//
// An analyzer streams: Start() makes a per-track run, Consume() sees the audio block by
// block, Finish() returns the results. Runs hold only summaries, so memory stays bounded
// whatever the track's length.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "timbre/audio/decode.h"
#include "timbre/core/status.h"
#include "timbre/dsp/stft.h"

namespace timbre::analysis {

struct ParamSpec {
  std::string name;
  double default_value = 0.0;
  double min = 0.0;
  double max = 0.0;
  std::string unit;
  std::string description;
};

struct OutputSpec {
  std::string name;  // "integrated_lufs"; stored as "<analyzer>.<name>"
  std::string unit;  // "LUFS", "dB", "s", "Hz", "" for unitless or text
  std::string description;
  bool text = false;  // a text value (an encoded fingerprint) instead of a number
};

struct AnalyzerInfo {
  std::string name;
  int version = 1;  // bump whenever outputs for the same input may change
  std::string description;
  audio::ViewSpec view;  // the audio it reads
  std::string window;    // which audio it reads, e.g. "whole stream" or "first 120 s"
  std::vector<ParamSpec> params;
  std::vector<OutputSpec> outputs;
  // Spectra it reads instead of raw blocks (its view must be mono). The pipeline runs one
  // STFT per distinct (view, frame, hop) and shares its frames between analyzers.
  std::optional<dsp::StftSpec> stft;
  // Model files the analyzer runs, as (id, sha256): part of its provenance and signature, so
  // a changed model file reruns exactly the analyses that used it.
  std::vector<std::pair<std::string, std::string>> models;
};

// Parameter values by name, always complete (defaults filled in) once resolved.
using Params = std::map<std::string, double>;

// What one analyzer found for one track. Numbers are finite by contract; an output that
// cannot be measured (loudness of silence) is absent, with a note that says why.
struct TagOutput {
  std::string name;   // "nom:essentia_effnet_1_mood_aggressive_1_aggressive"
  std::string value;  // "high"
  double score = 0.0;
};

struct Output {
  std::map<std::string, double> numbers;
  std::map<std::string, std::string> texts;
  std::map<std::string, std::vector<float>> vectors;  // embedding space → the track's vector
  std::vector<TagOutput> tags;
  std::vector<std::string> notes;
};

// Per-track state of one analyzer. Not shared between threads.
class AnalyzerRun {
 public:
  virtual ~AnalyzerRun() = default;
  // Receives the next block of the analyzer's view. Returns false when it needs no more.
  // Analyzers that declare an STFT get ConsumeSpectrum() calls instead.
  virtual bool Consume(const audio::AudioBlock& block) {
    (void)block;
    return true;
  }
  virtual void ConsumeSpectrum(const dsp::SpectrumFrame& frame) { (void)frame; }
  virtual Result<Output> Finish(const audio::DecodeReport& report) = 0;
};

// A stateless description plus a factory of runs; shared by all scan threads.
class Analyzer {
 public:
  virtual ~Analyzer() = default;
  virtual const AnalyzerInfo& info() const = 0;
  // `view_info` is the analyzer's view as it will arrive (native rates resolved).
  virtual Result<std::unique_ptr<AnalyzerRun>> Start(const Params& params,
                                                     const audio::StreamInfo& stream,
                                                     const audio::AudioBlock& view_info) const = 0;
};

// Checks overrides against the declared parameters (unknown names, out-of-range values)
// and fills defaults.
Result<Params> ResolveParams(const AnalyzerInfo& info,
                             const std::map<std::string, double>& overrides);

// Canonical "name=value;..." of resolved parameters, and its hash for provenance.
std::string CanonicalParams(const Params& params);
std::string ParamsHash(const Params& params);

}  // namespace timbre::analysis
