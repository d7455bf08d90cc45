// The analyzer contract. Every analyzer declares its name, version, description, the audio
// view it reads, its parameters (defaults and ranges) and its outputs (with units); the
// pipeline fills provenance from this declaration, never by hand.
//
// An analyzer streams: Start() makes a per-track run, Consume() sees the audio block by
// block, Finish() returns the results. Runs hold only summaries, so memory stays bounded
// whatever the track's length.
#pragma once

#include <filesystem>
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
  OutputSpec() = default;
  OutputSpec(std::string name_, std::string unit_, std::string description_, bool text_ = false)
      : name(std::move(name_)),
        unit(std::move(unit_)),
        description(std::move(description_)),
        text(text_) {}
  // A file output of this media type.
  static OutputSpec File(std::string name, std::string description, std::string media_type) {
    OutputSpec o(std::move(name), "", std::move(description));
    o.file = true;
    o.media_type = std::move(media_type);
    return o;
  }

  std::string name;  // "integrated_lufs"; stored as "<analyzer>.<name>"
  std::string unit;  // "LUFS", "dB", "s", "Hz", "" for unitless or text
  std::string description;
  bool text = false;  // a text value (an encoded fingerprint) instead of a number
  // A file (a waveform, a stem, a MIDI rendering) kept in the artifact store, of this media
  // type, instead of a number.
  bool file = false;
  std::string media_type;
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
// cannot be measured (loudness of silence) is absent, with a note that says why. The pipeline
// checks each output against the declaration: an undeclared output or a NaN/Inf fails the
// track with the analyzer named, and nothing of it is stored.
struct TagOutput {
  std::string name;   // "nom:essentia_effnet_1_mood_aggressive_1_aggressive"
  std::string value;  // "high"
  double score = 0.0;
};

// A file an analyzer made: its bytes in memory, or a file it wrote (the store moves it into
// the artifact store).
struct FileOutput {
  std::string media_type;  // as the declaration says
  std::string bytes;
  std::filesystem::path path;  // instead of bytes, for large files
};

struct Output {
  std::map<std::string, double> numbers;
  std::map<std::string, std::string> texts;
  std::map<std::string, FileOutput> files;            // declared file outputs by name
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

// Whether `output` keeps to `info`'s declaration: every number, text and file declared as
// such, every number, vector value and tag score finite. The error names the analyzer and the
// output (reason undeclared_output or non_finite_output).
Status CheckOutput(const AnalyzerInfo& info, const Output& output);

// Canonical "name=value;..." of resolved parameters, and its hash for provenance.
std::string CanonicalParams(const Params& params);
std::string ParamsHash(const Params& params);

}  // namespace timbre::analysis
