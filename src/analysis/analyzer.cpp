#include "timbre/analysis/analyzer.h"

#include <cmath>

#include <fmt/format.h>

#include "timbre/core/hash.h"

namespace timbre::analysis {

Status CheckOutput(const AnalyzerInfo& info, const Output& output) {
  auto declared = [&](const std::string& name, bool text, bool file) {
    for (const auto& o : info.outputs) {
      if (o.name == name) return o.text == text && o.file == file;
    }
    return false;
  };
  auto undeclared = [&](const char* what, const std::string& name) {
    return Internal(
               fmt::format("{}: {} output '{}' is not in its declaration", info.name, what, name))
        .WithReason("undeclared_output");
  };
  auto non_finite = [&](const std::string& name) {
    return Internal(fmt::format("{}: output '{}' is not a finite number", info.name, name))
        .WithReason("non_finite_output");
  };
  for (const auto& [name, value] : output.numbers) {
    if (!declared(name, false, false)) return undeclared("number", name);
    if (!std::isfinite(value)) return non_finite(name);
  }
  for (const auto& [name, value] : output.texts) {
    if (!declared(name, true, false)) return undeclared("text", name);
  }
  for (const auto& [name, file] : output.files) {
    if (!declared(name, false, true)) return undeclared("file", name);
    if (file.bytes.empty() && file.path.empty()) {
      return Internal(fmt::format("{}: file output '{}' has no content", info.name, name))
          .WithReason("empty_file_output");
    }
  }
  for (const auto& [space, vector] : output.vectors) {
    for (float v : vector) {
      if (!std::isfinite(v)) return non_finite(space);
    }
  }
  for (const auto& tag : output.tags) {
    if (!std::isfinite(tag.score)) return non_finite(tag.name);
  }
  return Status::Ok();
}

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
