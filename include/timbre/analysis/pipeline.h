// The per-track pipeline: decodes a file once into the views its analyzers ask for, feeds
// every analyzer, and returns their results with provenance. Thread-safe to call Run() from
// many threads at once (each call has its own state).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "timbre/analysis/analyzer.h"
#include "timbre/analysis/registry.h"
#include "timbre/audio/decode.h"

namespace timbre::analysis {

struct Provenance {
  std::string analyzer;
  int analyzer_version = 0;
  std::string params;  // canonical "name=value;..."
  std::string params_hash;
  std::string engine_version;
  std::string window;        // which audio was read: "whole stream", "first 120 s"
  double seconds = 0.0;      // time this analyzer took on this track (its own work)
  std::string model_ids;     // "effnet-discogs-1,mood-aggressive-1"; empty for DSP analyzers
  std::string model_sha256;  // their sha256, in the same order
};

struct AnalysisRecord {
  Provenance provenance;
  Output output;
  std::map<std::string, std::string> units;  // output name → unit, from the contract
};

struct TrackAnalysis {
  Status status;               // not ok: the track failed (reason() says why)
  audio::DecodeReport decode;  // what was decoded, also on failure where known
  std::vector<AnalysisRecord> analyses;
  double decode_seconds = 0.0;  // wall time of decoding and conversion
  double stft_seconds = 0.0;    // shared STFTs (windowing and FFT), not any one analyzer's
  double total_seconds = 0.0;
};

struct ConfiguredAnalyzer {
  const Analyzer* analyzer = nullptr;
  Params params;
};

class Pipeline {
 public:
  explicit Pipeline(std::vector<ConfiguredAnalyzer> analyzers);

  TrackAnalysis Run(const std::filesystem::path& path) const;

  // One hash of every analyzer's name, version and parameters: a track analysed under the
  // same signature needs no recomputation.
  const std::string& signature() const { return signature_; }
  const std::vector<ConfiguredAnalyzer>& analyzers() const { return analyzers_; }

  // The analyzers whose stored provenance no longer matches this pipeline's (missing, other
  // version, parameters or model files): what a rescan of unchanged audio must recompute.
  std::vector<std::string> StaleAnalyzers(const std::vector<Provenance>& stored) const;
  // A pipeline of only the named analyzers; its signature is its own, not this one's.
  Pipeline Subset(const std::vector<std::string>& names) const;

 private:
  std::vector<ConfiguredAnalyzer> analyzers_;
  std::string signature_;
};

// The provenance this pipeline gives one analyzer's results (seconds left at 0).
Provenance ProvenanceOf(const ConfiguredAnalyzer& a);

// The built-in analyzers with their default parameters.
Result<Pipeline> DefaultPipeline(const Registry& registry);

}  // namespace timbre::analysis
