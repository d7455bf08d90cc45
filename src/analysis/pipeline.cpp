#include "timbre/analysis/pipeline.h"

#include <algorithm>
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
    const Provenance p = ProvenanceOf(a);
    all += fmt::format("{}@{}[{}]", p.analyzer, p.analyzer_version, p.params);
    if (!p.model_sha256.empty()) all += fmt::format("<{}>", p.model_sha256);
    all += '|';
  }
  signature_ = HashString(all);
}

Provenance ProvenanceOf(const ConfiguredAnalyzer& a) {
  const AnalyzerInfo& info = a.analyzer->info();
  Provenance p;
  p.analyzer = info.name;
  p.analyzer_version = info.version;
  p.params = CanonicalParams(a.params);
  p.params_hash = ParamsHash(a.params);
  p.engine_version = kEngineVersion;
  p.window = info.window;
  for (const auto& [id, sha] : info.models) {
    p.model_ids += (p.model_ids.empty() ? "" : ",") + id;
    p.model_sha256 += (p.model_sha256.empty() ? "" : ",") + sha;
  }
  return p;
}

std::vector<std::string> Pipeline::StaleAnalyzers(const std::vector<Provenance>& stored) const {
  std::vector<std::string> stale;
  for (const auto& a : analyzers_) {
    const Provenance want = ProvenanceOf(a);
    bool current = false;
    for (const auto& have : stored) {
      if (have.analyzer == want.analyzer && have.analyzer_version == want.analyzer_version &&
          have.params_hash == want.params_hash && have.model_sha256 == want.model_sha256) {
        current = true;
        break;
      }
    }
    if (!current) stale.push_back(want.analyzer);
  }
  return stale;
}

Pipeline Pipeline::Subset(const std::vector<std::string>& names) const {
  std::vector<ConfiguredAnalyzer> kept;
  for (const auto& a : analyzers_) {
    if (std::find(names.begin(), names.end(), a.analyzer->info().name) != names.end()) {
      kept.push_back(a);
    }
  }
  return Pipeline(std::move(kept));
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

  // One STFT per distinct (view, frame, hop), created once the stream's rate is known.
  struct SharedStft {
    size_t view;
    dsp::StftSpec spec;
    std::vector<size_t> subscribers;
    std::unique_ptr<dsp::Stft> stft;
  };
  std::vector<SharedStft> stfts;
  for (size_t i = 0; i < analyzers_.size(); ++i) {
    const auto& spec = analyzers_[i].analyzer->info().stft;
    if (!spec) continue;
    size_t k = 0;
    while (k < stfts.size() && !(stfts[k].view == view_of[i] && stfts[k].spec == *spec)) ++k;
    if (k == stfts.size()) stfts.push_back({view_of[i], *spec, {}, nullptr});
    stfts[k].subscribers.push_back(i);
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
    for (auto& shared : stfts) {
      const audio::ViewSpec v = views[shared.view];
      if (v.channels != 1) return Internal("an STFT needs a mono view");
      const double rate = v.sample_rate == 0 ? info.sample_rate : v.sample_rate;
      const std::vector<size_t>* subscribers = &shared.subscribers;
      shared.stft = std::make_unique<dsp::Stft>(shared.spec, rate,
                                                [&, subscribers](const dsp::SpectrumFrame& frame) {
                                                  for (size_t i : *subscribers) {
                                                    const auto t = Clock::now();
                                                    runs[i]->ConsumeSpectrum(frame);
                                                    seconds[i] += SecondsSince(t);
                                                  }
                                                });
    }
    return Status::Ok();
  };
  double stft_total = 0.0;  // STFT time including the subscribers' own work
  auto subscriber_seconds = [&] {
    double s = 0.0;
    for (const auto& shared : stfts) {
      for (size_t i : shared.subscribers) s += seconds[i];
    }
    return s;
  };

  // Returns whether this view is still wanted: by an STFT (whose analyzers read to the end)
  // or by an analyzer that has not said it has enough.
  auto sink = [&](size_t view, const audio::AudioBlock& block) {
    bool wanted = false;
    for (auto& shared : stfts) {
      if (shared.view != view) continue;
      const auto t = Clock::now();
      shared.stft->Add(block.samples, block.frames);
      stft_total += SecondsSince(t);
      wanted = true;
    }
    for (size_t i = 0; i < runs.size(); ++i) {
      if (!active[i] || view_of[i] != view || analyzers_[i].analyzer->info().stft) continue;
      const auto t = Clock::now();
      active[i] = runs[i]->Consume(block);
      seconds[i] += SecondsSince(t);
      wanted = wanted || active[i];
    }
    return wanted;
  };

  auto decoded = audio::DecodeFile(path, views, on_open, sink);
  if (decoded.ok()) {
    for (auto& shared : stfts) {
      const auto t = Clock::now();
      shared.stft->Finish();
      stft_total += SecondsSince(t);
    }
  }
  double analysis_in_decode = 0.0;
  for (double s : seconds) analysis_in_decode += s;
  result.stft_seconds = stft_total - subscriber_seconds();
  result.decode_seconds = SecondsSince(start) - analysis_in_decode - result.stft_seconds;
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

  // A failed track keeps nothing: files the analyzers wrote for it are removed.
  auto discard = [&result] {
    for (const auto& a : result.analyses) {
      for (const auto& [name, file] : a.output.files) {
        std::error_code ec;
        if (!file.path.empty()) std::filesystem::remove(file.path, ec);
      }
    }
    result.analyses.clear();
  };
  for (size_t i = 0; i < runs.size(); ++i) {
    const AnalyzerInfo& info = analyzers_[i].analyzer->info();
    const auto t = Clock::now();
    auto out = runs[i]->Finish(result.decode);
    seconds[i] += SecondsSince(t);
    if (out.ok()) {
      if (Status checked = CheckOutput(info, *out); !checked.ok()) {
        result.status = checked;
        result.analyses.push_back({{}, std::move(out).value(), {}});
        discard();
        break;
      }
    }
    if (!out.ok()) {
      result.status =
          Status(out.status().code(), fmt::format("{}: {}", info.name, out.status().message()))
              .WithReason("analyzer_failed");
      discard();
      break;
    }
    AnalysisRecord record;
    record.provenance = ProvenanceOf(analyzers_[i]);
    record.provenance.seconds = seconds[i];
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
