#include "timbre/analysis/analyzer.h"

#include <cmath>

#include <fmt/format.h>

#include "timbre/core/hash.h"

namespace timbre::analysis {

Result<Params> ResolveParams(const AnalyzerInfo& info,
                             const std::map<std::string, double>& overrides) {
  Params params;
  for (const auto& p : info.params) params[p.name] = p.default_value;
  for (const auto& [name, value] : overrides) {
    const ParamSpec* spec = nullptr;
    for (const auto& p : info.params) {
      if (p.name == name) spec = &p;
    }
    if (spec == nullptr) {
      return InvalidArgument(fmt::format("analyzer '{}' has no parameter '{}'", info.name, name));
    }
    if (!std::isfinite(value) || value < spec->min || value > spec->max) {
      return InvalidArgument(fmt::format("{}.{} = {} is outside [{}, {}]", info.name, name, value,
                                         spec->min, spec->max));
    }
    params[name] = value;
  }
  return params;
}

std::string CanonicalParams(const Params& params) {
  std::string out;
  for (const auto& [name, value] : params) {  // std::map: sorted by name
    if (!out.empty()) out += ';';
    out += fmt::format("{}={}", name, value);
  }
  return out;
}

std::string ParamsHash(const Params& params) { return HashString(CanonicalParams(params)); }

}  // namespace timbre::analysis
