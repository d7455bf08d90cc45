#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "timbre/analysis/model_analyzers.h"
#include "timbre/dsp/logmel.h"
#include "timbre/models/tiers.h"

namespace timbre::analysis {
namespace {

using models::Manifest;
using models::Matrix;
using models::ModelEntry;

struct HeadSlot {
  ModelEntry entry;
  std::string key;  // output names start with "<key>."
};

class ModelAnalyzer : public Analyzer {
 public:
  ModelAnalyzer(ModelEntry model, std::vector<HeadSlot> heads, models::ModelCache& cache,
                ModelRunOptions options)
      : model_(std::move(model)), heads_(std::move(heads)), cache_(cache), options_(options) {
    const Manifest& m = model_.manifest;
    info_.name = models::AnalysisName(m);
    info_.version = 1;
    info_.view = {m.frontend.sample_rate, 1};
    info_.window = "whole stream";
    info_.stft = m.frontend.stft();
    info_.models.emplace_back(m.id, m.sha256);
    std::string head_ids;
    for (const auto& h : heads_) {
      info_.models.emplace_back(h.entry.manifest.id, h.entry.manifest.sha256);
      head_ids += (head_ids.empty() ? "" : ", ") + h.entry.manifest.id;
    }
    info_.description =
        fmt::format("{} {} ({}, {}){}", models::ModelKindName(m.kind), m.id, m.framework, m.license,
                    head_ids.empty() ? "" : fmt::format(", heads: {}", head_ids));
    info_.outputs.push_back({"patches", "", "log-mel patches the model read", false});
    for (const auto& slot : Scorers()) {
      for (const auto& label : slot.manifest->labels) {
        info_.outputs.push_back({slot.key + "." + label, "",
                                 fmt::format("mean score of {} over the patches", label), false});
        info_.outputs.push_back({slot.key + "." + label + ".spread", "",
                                 fmt::format("standard deviation of {}'s score", label), false});
      }
      info_.outputs.push_back(
          {slot.key + ".tag_prefix", "",
           "the nom: prefix of this model's tags; tag writers drop its tags that no longer apply",
           true});
    }
  }

  const AnalyzerInfo& info() const override { return info_; }
  Result<std::unique_ptr<AnalyzerRun>> Start(const Params& params, const audio::StreamInfo& stream,
                                             const audio::AudioBlock& view_info) const override;

  // What produces label scores: the heads, or the classifier itself.
  struct Scorer {
    const Manifest* manifest;
    const ModelEntry* entry;
    std::string key;
  };
  std::vector<Scorer> Scorers() const {
    std::vector<Scorer> out;
    if (model_.manifest.kind == models::ModelKind::kClassifier) {
      out.push_back({&model_.manifest, &model_, models::NamespacePart(model_.manifest.name)});
    }
    for (const auto& h : heads_) out.push_back({&h.entry.manifest, &h.entry, h.key});
    return out;
  }

  const ModelEntry& model() const { return model_; }
  models::ModelCache& cache() const { return cache_; }
  const ModelRunOptions& options() const { return options_; }

 private:
  ModelEntry model_;
  std::vector<HeadSlot> heads_;
  models::ModelCache& cache_;
  ModelRunOptions options_;
  AnalyzerInfo info_;
};

class ModelRun : public AnalyzerRun {
 public:
  explicit ModelRun(const ModelAnalyzer& owner)
      : owner_(owner),
        spec_(owner.model().manifest.frontend),
        logmel_(spec_),
        patches_(spec_.patch_frames, spec_.patch_hop, logmel_.bands(), logmel_.silence()),
        frame_(logmel_.bands()),
        scorers_(owner.Scorers()) {
    auto model = owner.cache().Get(owner.model());
    if (!model.ok()) {
      Fail(model.status());
      return;
    }
    model_ = std::move(model).value();
    for (const auto& s : scorers_) {
      accumulators_.emplace_back(s.manifest->labels.size());
      if (s.entry == &owner.model()) {
        heads_.push_back(nullptr);  // the classifier scores itself
        continue;
      }
      auto head = owner.cache().Get(*s.entry);
      if (!head.ok()) {
        Fail(head.status());
        return;
      }
      heads_.push_back(std::move(head).value());
    }
  }

  void ConsumeSpectrum(const dsp::SpectrumFrame& frame) override {
    if (failed_) return;
    logmel_.Compute(frame.magnitude, frame_.data());
    patches_.AddFrame(frame_.data());
    if (patches_.ready() >= owner_.options().batch) RunBatch();
  }

  Result<Output> Finish(const audio::DecodeReport& report) override {
    (void)report;
    Output out;
    patches_.Finish();
    while (!failed_ && patches_.ready() > 0) RunBatch();
    if (failed_) {
      // Recorded rather than failing the track: the same model bytes fail the same way, and
      // the other analyzers' results stand.
      out.notes.push_back(error_);
      return out;
    }
    out.numbers["patches"] = static_cast<double>(patches_seen_);
    const Manifest& m = owner_.model().manifest;
    if (m.kind == models::ModelKind::kEmbedder && patches_seen_ > 0) {
      std::vector<float> mean(embedding_sum_.size());
      for (size_t i = 0; i < mean.size(); ++i) {
        mean[i] = static_cast<float>(embedding_sum_[i] / static_cast<double>(patches_seen_));
      }
      out.vectors[owner_.info().name] = std::move(mean);
    }
    std::vector<models::ScoredHead> scored;
    for (size_t s = 0; s < scorers_.size(); ++s) {
      scored.push_back(
          {scorers_[s].manifest, models::ScoreLabels(*scorers_[s].manifest, accumulators_[s])});
      for (const auto& label : scored.back().labels) {
        out.numbers[scorers_[s].key + "." + label.label] = label.mean;
        out.numbers[scorers_[s].key + "." + label.label + ".spread"] = label.spread;
      }
    }
    models::ResolveContradictions(scored);
    const Manifest* embedder = m.kind == models::ModelKind::kEmbedder ? &m : nullptr;
    for (size_t s = 0; s < scored.size(); ++s) {
      const auto& head = scored[s];
      const std::string prefix = models::TagPrefix(*head.model, embedder);
      // Tag writers remove this namespace's tags that no longer apply, labels included that
      // reach no tier now.
      out.texts[scorers_[s].key + ".tag_prefix"] = prefix;
      for (const auto& label : head.labels) {
        if (label.tier == models::Tier::kNone) continue;
        out.tags.push_back(
            {prefix + label.label, std::string(models::TierName(label.tier)), label.mean});
      }
    }
    return out;
  }

 private:
  void Fail(const Status& s) {
    failed_ = true;
    error_ = fmt::format("{}: {}", s.reason(), s.message());
  }

  bool Check(const Matrix& out, size_t want, const Manifest& m) {
    if (out.cols != want) {
      Fail(InvalidArgument(
               fmt::format("{} returns {} values per patch; its manifest says {} ({})", m.id,
                           out.cols, want,
                           m.kind == models::ModelKind::kEmbedder ? "output.dim" : "output.labels"))
               .WithReason("output_mismatch"));
      return false;
    }
    for (float v : out.values) {
      if (!std::isfinite(v)) {
        Fail(Corrupt(fmt::format("{} returned a value that is not finite", m.id))
                 .WithReason("model_output_not_finite"));
        return false;
      }
    }
    return true;
  }

  void RunBatch() {
    batch_.clear();
    const size_t n = patches_.Take(owner_.options().batch, &batch_);
    if (n == 0) return;
    const Manifest& m = owner_.model().manifest;
    const auto rows = static_cast<int64_t>(n);
    const auto frames = static_cast<int64_t>(spec_.patch_frames);
    const auto bands = static_cast<int64_t>(logmel_.bands());
    std::vector<int64_t> shape = m.layout == models::TensorLayout::kPatchChannelFramesBands
                                     ? std::vector<int64_t>{rows, 1, frames, bands}
                                     : std::vector<int64_t>{rows, frames, bands};
    Matrix out;
    std::string error;
    if (!model_->Forward(batch_.data(), shape, m.tuple_index, &out, &error)) {
      Fail(InvalidArgument(fmt::format("{}: {}", m.id, error)).WithReason("model_failed"));
      return;
    }
    if (!Check(out, m.output_size(), m)) return;
    patches_seen_ += n;
    if (m.kind == models::ModelKind::kClassifier) {
      models::Activate(m.activation, &out);
      accumulators_[0].Add(out);
      return;
    }
    if (embedding_sum_.empty()) embedding_sum_.assign(out.cols, 0.0);
    for (size_t r = 0; r < out.rows; ++r) {
      const float* row = out.row(r);
      for (size_t c = 0; c < out.cols; ++c) embedding_sum_[c] += row[c];
    }
    // Heads score every patch's embedding; their scores are averaged later.
    const std::vector<int64_t> head_shape{rows, static_cast<int64_t>(out.cols)};
    for (size_t s = 0; s < scorers_.size(); ++s) {
      const Manifest& h = *scorers_[s].manifest;
      Matrix scores;
      if (!heads_[s]->Forward(out.values.data(), head_shape, h.tuple_index, &scores, &error)) {
        Fail(InvalidArgument(fmt::format("{}: {}", h.id, error)).WithReason("model_failed"));
        return;
      }
      if (!Check(scores, h.labels.size(), h)) return;
      models::Activate(h.activation, &scores);
      accumulators_[s].Add(scores);
    }
  }

  const ModelAnalyzer& owner_;
  dsp::LogMelSpec spec_;
  dsp::LogMel logmel_;
  dsp::PatchBuilder patches_;
  std::vector<float> frame_;
  std::vector<float> batch_;
  std::vector<ModelAnalyzer::Scorer> scorers_;
  std::shared_ptr<const models::LoadedModel> model_;
  std::vector<std::shared_ptr<const models::LoadedModel>> heads_;
  std::vector<models::LabelAccumulator> accumulators_;
  std::vector<double> embedding_sum_;
  size_t patches_seen_ = 0;
  bool failed_ = false;
  std::string error_;
};

Result<std::unique_ptr<AnalyzerRun>> ModelAnalyzer::Start(
    const Params& params, const audio::StreamInfo& stream,
    const audio::AudioBlock& view_info) const {
  (void)params;
  (void)stream;
  (void)view_info;
  return std::unique_ptr<AnalyzerRun>(std::make_unique<ModelRun>(*this));
}

}  // namespace

std::vector<std::unique_ptr<Analyzer>> MakeModelAnalyzers(const models::ModelRegistry& registry,
                                                          models::ModelCache& cache,
                                                          const ModelRunOptions& options) {
  std::vector<std::unique_ptr<Analyzer>> out;
  for (const auto& group : registry.Groups()) {
    std::vector<HeadSlot> heads;
    std::set<std::string> keys;
    for (const ModelEntry* h : group.heads) {
      // Output names use the head's name; two heads of one name fall back to their ids.
      std::string key = models::NamespacePart(h->manifest.name);
      if (!keys.insert(key).second) {
        key = models::NamespacePart(h->manifest.id);
        keys.insert(key);
      }
      heads.push_back({*h, key});
    }
    out.push_back(std::make_unique<ModelAnalyzer>(*group.model, std::move(heads), cache, options));
  }
  return out;
}

Result<std::unique_ptr<ModelSetup>> AddModelAnalyzers(const ModelSetupOptions& options,
                                                      Registry& analyzers) {
  auto registry = models::ModelRegistry::Discover(options.dir);
  if (!registry.ok()) return registry.status();
  auto setup = std::make_unique<ModelSetup>();
  setup->registry = std::move(registry).value();
  setup->registry.Verify();
  for (const auto& e : setup->registry.entries()) {
    if (!e.manifest_error.ok()) {
      setup->warnings.push_back(e.manifest_error.message());
    } else if (!e.problem.ok()) {
      setup->warnings.push_back(e.problem.message());
    }
  }
  const auto groups = setup->registry.Groups();
  const auto transcribers = setup->registry.Transcribers();
  if (transcribers.empty()) setup->notes_missing = NotesNotInstalled(options.dir);
  if (groups.empty() && transcribers.empty()) return setup;
  const models::RuntimeLookup& runtime = models::TorchRuntime();
  if (runtime.runtime == nullptr) {
    setup->warnings.push_back(fmt::format("{} model(s) will not run: {}",
                                          groups.size() + transcribers.size(), runtime.reason));
    if (!transcribers.empty()) setup->notes_missing = "notes: " + runtime.reason;
    return setup;
  }
  runtime.runtime->SetThreads(options.threads);
  setup->cache =
      std::make_unique<models::ModelCache>(runtime.runtime, options.memory_budget_mb << 20);
  for (auto& analyzer : MakeModelAnalyzers(setup->registry, *setup->cache, options.run)) {
    const std::string name = analyzer->info().name;
    if (Status added = analyzers.Add(std::move(analyzer)); !added.ok()) {
      setup->warnings.push_back(fmt::format("{} will not run: {}", name, added.message()));
      continue;
    }
    ++setup->analyzers;
  }
  for (size_t i = 0; i < transcribers.size(); ++i) {
    const std::string& id = transcribers[i]->manifest.id;
    if (i > 0) {
      setup->warnings.push_back(
          fmt::format("{} will not run: notes already runs {}", id, transcribers[0]->manifest.id));
      continue;
    }
    auto notes = MakeNotesAnalyzer(*transcribers[i], *setup->cache, options.run);
    if (!notes.ok()) {
      setup->warnings.push_back(notes.status().message());
      setup->notes_missing = "notes: " + notes.status().message();
      continue;
    }
    if (Status added = analyzers.Add(std::move(notes).value()); !added.ok()) {
      setup->warnings.push_back(fmt::format("{} will not run: {}", id, added.message()));
      continue;
    }
    ++setup->analyzers;
  }
  return setup;
}

std::string NotesNotInstalled(const std::filesystem::path& models_dir) {
  return fmt::format(
      "notes: no transcription model is installed in {}; `scripts/setup-models.sh` installs "
      "Basic Pitch there (fetched once from npm)",
      models_dir.string());
}

}  // namespace timbre::analysis
