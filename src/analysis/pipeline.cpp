#include "timbre/analysis/pipeline.h"

#include <chrono>

#include <fmt/format.h>

#include "timbre/analysis/registry.h"
#include "timbre/core/hash.h"
#include "timbre/core/version.h"

namespace timbre::analysis {
namespace {

using Clock = std::chrono::steady_clock;
double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// A file whose header promises more audio than decoding found was cut short. The margin
// tolerates encoder padding and rounding in header durations.
bool LooksTruncated(const audio::DecodeReport& r) {
  if (r.stopped_early || r.info.declared_seconds <= 0.0) return false;
  const double missing = r.info.declared_seconds - r.decoded_seconds();
  return missing > std::max(1.0, 0.02 * r.info.declared_seconds);
}

}  // namespace

Pipeline::Pipeline(std::vector<ConfiguredAnalyzer> analyzers) : analyzers_(std::move(analyzers)) {
  std::string all;
  for (const auto& a : analyzers_) {
    all += fmt::format("{}@{}[{}]|", a.analyzer->info().name, a.analyzer->info().version,
                       CanonicalParams(a.params));
  }
  signature_ = HashString(all);
}

TrackAnalysis Pipeline::Run(const std::filesystem::path& path) const {
  const auto start = Clock::now();
  TrackAnalysis result;

  // One converter per distinct view; analyzers asking for the same view share it.
  std::vector<audio::ViewSpec> views;
  std::vector<size_t> view_of(analyzers_.size());
  for (size_t i = 0; i < analyzers_.size(); ++i) {
    const audio::ViewSpec v = analyzers_[i].analyzer->info().view;
    size_t k = 0;
    while (k < views.size() && !(views[k] == v)) ++k;
    if (k == views.size()) views.push_back(v);
    view_of[i] = k;
  }

  std::vector<std::unique_ptr<AnalyzerRun>> runs(analyzers_.size());
  std::vector<bool> active(analyzers_.size(), false);
  std::vector<double> seconds(analyzers_.size(), 0.0);

  auto on_open = [&](const audio::StreamInfo& info) -> Status {
    for (size_t i = 0; i < analyzers_.size(); ++i) {
      const audio::ViewSpec v = views[view_of[i]];
      audio::AudioBlock shape{nullptr, 0, v.channels == 0 ? info.channels : v.channels,
                              v.sample_rate == 0 ? info.sample_rate : v.sample_rate};
      auto run = analyzers_[i].analyzer->Start(analyzers_[i].params, info, shape);
      if (!run.ok()) {
        return Status(run.status().code(),
                      fmt::format("{}: {}", analyzers_[i].analyzer->info().name,
                                  run.status().message()))
            .WithReason("analyzer_failed");
      }
      runs[i] = std::move(run).value();
      active[i] = true;
    }
    return Status::Ok();
  };

  auto sink = [&](size_t view, const audio::AudioBlock& block) {
    bool any = false;
    for (size_t i = 0; i < runs.size(); ++i) {
      if (!active[i]) continue;
      if (view_of[i] == view) {
        const auto t = Clock::now();
        active[i] = runs[i]->Consume(block);
        seconds[i] += SecondsSince(t);
      }
      any = any || active[i];
    }
    return any;
  };

  auto decoded = audio::DecodeFile(path, views, on_open, sink);
  double analysis_in_decode = 0.0;
  for (double s : seconds) analysis_in_decode += s;
  result.decode_seconds = SecondsSince(start) - analysis_in_decode;
  if (!decoded.ok()) {
    result.status = decoded.status();
    result.total_seconds = SecondsSince(start);
    return result;
  }
  result.decode = std::move(decoded).value();
  if (LooksTruncated(result.decode)) {
    result.status =
        Corrupt(fmt::format("truncated: decoded {:.1f} s of the {:.1f} s the header declares",
                            result.decode.decoded_seconds(), result.decode.info.declared_seconds))
            .WithReason("truncated");
    result.total_seconds = SecondsSince(start);
    return result;
  }

  for (size_t i = 0; i < runs.size(); ++i) {
    const AnalyzerInfo& info = analyzers_[i].analyzer->info();
    const auto t = Clock::now();
    auto out = runs[i]->Finish(result.decode);
    seconds[i] += SecondsSince(t);
    if (!out.ok()) {
      result.status =
          Status(out.status().code(), fmt::format("{}: {}", info.name, out.status().message()))
              .WithReason("analyzer_failed");
      result.analyses.clear();
      break;
    }
    AnalysisRecord record;
    record.provenance = {info.name,
                         info.version,
                         CanonicalParams(analyzers_[i].params),
                         ParamsHash(analyzers_[i].params),
                         kEngineVersion,
                         info.window,
                         seconds[i]};
    record.output = std::move(out).value();
    for (const auto& o : info.outputs) record.units[o.name] = o.unit;
    result.analyses.push_back(std::move(record));
  }
  result.total_seconds = SecondsSince(start);
  return result;
}

Result<Pipeline> DefaultPipeline(const Registry& registry) {
  std::vector<ConfiguredAnalyzer> configured;
  for (const Analyzer* a : registry.All()) {
    auto params = ResolveParams(a->info(), {});
    if (!params.ok()) return params.status();
    configured.push_back({a, std::move(params).value()});
  }
  return Pipeline(std::move(configured));
}

}  // namespace timbre::analysis
