// Model runtime benchmark: for each audio file, the time timbre's model analyzer takes on it
// (decode excluded: frontend, batching and forward passes) against the raw forward passes
// the same number of patches needs, and the frontend's share.
//
//   build/bench/model_bench MODELS_DIR BATCH FILE...
//
// Prints one JSON line per file and a summary line with medians.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "timbre/analysis/model_analyzers.h"
#include "timbre/analysis/pipeline.h"
#include "timbre/core/config.h"
#include "timbre/dsp/logmel.h"
#include "timbre/models/model_cache.h"

namespace {

using namespace timbre;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s MODELS_DIR BATCH FILE...\n", argv[0]);
    return 2;
  }
  // The plugin is found the way timbre finds it: models.torch_plugin from the environment
  // (TIMBRE_TORCH_PLUGIN), else beside the binary.
  auto config = Config::Load("", false);
  if (!config.ok()) {
    std::fprintf(stderr, "model_bench: %s\n", config.status().message().c_str());
    return 2;
  }
  models::UseTorchPlugin(config->Text("models.torch_plugin"));
  analysis::Registry registry;
  analysis::ModelSetupOptions options;
  options.dir = argv[1];
  options.run.batch = static_cast<size_t>(std::atoi(argv[2]));
  auto setup = analysis::AddModelAnalyzers(options, registry);
  if (!setup.ok() || (*setup)->analyzers != 1) {
    std::fprintf(stderr, "model_bench: need exactly one runnable embedder in %s\n", argv[1]);
    for (const auto& w : setup.ok() ? (*setup)->warnings : std::vector<std::string>{}) {
      std::fprintf(stderr, "  %s\n", w.c_str());
    }
    return 1;
  }
  const analysis::Analyzer* analyzer = registry.All().front();
  auto pipeline = analysis::DefaultPipeline(registry);
  const models::ModelEntry& entry = (*setup)->registry.entries().front();
  auto model = (*setup)->cache->Get(entry);
  if (!pipeline.ok() || !model.ok()) return 1;
  const dsp::LogMelSpec& spec = entry.manifest.frontend;

  std::vector<double> ratios, shares, analyzer_rates, raw_rates;
  for (int i = 3; i < argc; ++i) {
    const auto track = pipeline->Run(argv[i]);
    if (!track.status.ok() || track.analyses.empty()) {
      std::fprintf(stderr, "model_bench: %s: %s\n", argv[i], track.status.message().c_str());
      return 1;
    }
    const auto& a = track.analyses.front();
    const double analyzer_s = a.provenance.seconds;
    const auto patches = static_cast<size_t>(a.output.numbers.at("patches"));

    // The raw forward passes those patches need, on random patches of the same shape.
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    const size_t patch = spec.patch_frames * spec.mel_bands;
    std::vector<float> batch(options.run.batch * patch);
    for (auto& v : batch) v = normal(rng);
    models::Matrix out;
    std::string error;
    const auto t = Clock::now();
    for (size_t done = 0; done < patches; done += options.run.batch) {
      const auto n = static_cast<int64_t>(std::min(options.run.batch, patches - done));
      if (!(*model)->Forward(
              batch.data(),
              {n, static_cast<int64_t>(spec.patch_frames), static_cast<int64_t>(spec.mel_bands)}, 0,
              &out, &error)) {
        std::fprintf(stderr, "model_bench: %s\n", error.c_str());
        return 1;
      }
    }
    const double raw_s = Seconds(t);

    // The frontend alone: the mel projection and log of every frame the track has.
    dsp::LogMel logmel(spec);
    std::vector<float> magnitude(spec.frame_size / 2 + 1), frame(logmel.bands());
    for (auto& m : magnitude) m = std::abs(normal(rng));
    const size_t frames = (patches - 1) * spec.patch_hop + spec.patch_frames;
    const auto f = Clock::now();
    for (size_t k = 0; k < frames; ++k) logmel.Compute(magnitude.data(), frame.data());
    const double frontend_s = Seconds(f);

    ratios.push_back(analyzer_s / raw_s);
    shares.push_back(frontend_s / analyzer_s);
    analyzer_rates.push_back(static_cast<double>(patches) / analyzer_s);
    raw_rates.push_back(static_cast<double>(patches) / raw_s);
    nlohmann::json j{{"file", argv[i]},
                     {"patches", patches},
                     {"audio_seconds", track.decode.decoded_seconds()},
                     {"analyzer_seconds", analyzer_s},
                     {"raw_forward_seconds", raw_s},
                     {"frontend_seconds", frontend_s},
                     {"ratio", analyzer_s / raw_s}};
    std::printf("%s\n", j.dump().c_str());
  }
  nlohmann::json summary{{"analyzer", analyzer->info().name},
                         {"batch", options.run.batch},
                         {"files", ratios.size()},
                         {"ratio_median", Median(ratios)},
                         {"frontend_share_median", Median(shares)},
                         {"analyzer_patches_per_s_median", Median(analyzer_rates)},
                         {"raw_patches_per_s_median", Median(raw_rates)}};
  std::printf("%s\n", summary.dump().c_str());
  return 0;
}
