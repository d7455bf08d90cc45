// Factories of the built-in analyzers (private to the analysis library).
#pragma once

#include <memory>

#include "timbre/analysis/analyzer.h"

namespace timbre::analysis {

// Holds the declared contract; each built-in fills info_ in its constructor.
class BuiltinAnalyzer : public Analyzer {
 public:
  const AnalyzerInfo& info() const override { return info_; }

 protected:
  AnalyzerInfo info_;
};

std::unique_ptr<Analyzer> MakePropertiesAnalyzer();
std::unique_ptr<Analyzer> MakeLoudnessAnalyzer();
std::unique_ptr<Analyzer> MakeFingerprintAnalyzer();
std::unique_ptr<Analyzer> MakeRhythmAnalyzer();
std::unique_ptr<Analyzer> MakeTonalAnalyzer();
std::unique_ptr<Analyzer> MakeSpectralAnalyzer();
std::unique_ptr<Analyzer> MakeWaveformAnalyzer();

}  // namespace timbre::analysis
