// Factories of the built-in analyzers (private to the analysis library).
#pragma once

#include <memory>

#include "timbre/analysis/analyzer.h"

namespace timbre::analysis {

std::unique_ptr<Analyzer> MakePropertiesAnalyzer();
std::unique_ptr<Analyzer> MakeLoudnessAnalyzer();
std::unique_ptr<Analyzer> MakeFingerprintAnalyzer();
std::unique_ptr<Analyzer> MakeRhythmAnalyzer();
std::unique_ptr<Analyzer> MakeTonalAnalyzer();
std::unique_ptr<Analyzer> MakeSpectralAnalyzer();

}  // namespace timbre::analysis
