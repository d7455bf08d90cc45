#include "timbre/analysis/registry.h"

#include <fmt/format.h>

#include "builtin/builtin.h"

namespace timbre::analysis {

Status Registry::Add(std::unique_ptr<Analyzer> analyzer) {
  if (!analyzer) return InvalidArgument("null analyzer");
  if (Find(analyzer->info().name) != nullptr) {
    return {StatusCode::kAlreadyExists,
            fmt::format("analyzer '{}' is already registered", analyzer->info().name)};
  }
  analyzers_.push_back(std::move(analyzer));
  return Status::Ok();
}

const Analyzer* Registry::Find(std::string_view name) const {
  for (const auto& a : analyzers_) {
    if (a->info().name == name) return a.get();
  }
  return nullptr;
}

std::vector<const Analyzer*> Registry::All() const {
  std::vector<const Analyzer*> out;
  for (const auto& a : analyzers_) out.push_back(a.get());
  return out;
}

void RegisterBuiltinAnalyzers(Registry& registry) {
  // Names are unique by construction here; a clash would be a programming error.
  (void)registry.Add(MakePropertiesAnalyzer());
  (void)registry.Add(MakeLoudnessAnalyzer());
  (void)registry.Add(MakeFingerprintAnalyzer());
  (void)registry.Add(MakeRhythmAnalyzer());
  (void)registry.Add(MakeTonalAnalyzer());
  (void)registry.Add(MakeSpectralAnalyzer());
  (void)registry.Add(MakeWaveformAnalyzer());
}

}  // namespace timbre::analysis
