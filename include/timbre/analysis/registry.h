// An explicit list of analyzers; no static registration. The CLI's help, the API's
// capabilities and the docs read the same metadata from here.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "timbre/analysis/analyzer.h"

namespace timbre::analysis {

class Registry {
 public:
  Status Add(std::unique_ptr<Analyzer> analyzer);
  const Analyzer* Find(std::string_view name) const;
  std::vector<const Analyzer*> All() const;

 private:
  std::vector<std::unique_ptr<Analyzer>> analyzers_;
};

// properties, loudness, fingerprint, rhythm, tonal, spectral, waveform.
void RegisterBuiltinAnalyzers(Registry& registry);

// Album loudness is not a per-track analyzer: the scan computes it per album from the
// members' loudness histograms and stores it under this name on every member.
inline constexpr const char* kAlbumLoudnessAnalyzer = "album_loudness";

}  // namespace timbre::analysis
