#include "timbre/service/catalog.h"

#include <fmt/format.h>

#include "timbre/core/version.h"
#include "timbre/index/timbre_v1.h"
#include "timbre/models/model_cache.h"
#include "timbre/service/engine.h"
#include "timbre/service/index_cache.h"
#include "timbre/service/similarity.h"

namespace timbre::service {
namespace {

using Json = nlohmann::json;

std::string Problem(const models::ModelEntry& e) {
  if (!e.manifest_error.ok()) return e.manifest_error.message();
  return e.problem.ok() ? "" : e.problem.message();
}

// The models folder's entries as the manifest and health list them.
Json ModelsBrief(const Analysis* analysis) {
  Json out = Json::array();
  if (analysis == nullptr || analysis->models == nullptr) return out;
  for (const auto& e : analysis->models->registry.entries()) {
    if (!e.manifest_error.ok()) {
      out.push_back({{"manifest", e.manifest_path.filename().string()},
                     {"state", "bad_manifest"},
                     {"problem", e.manifest_error.message()}});
      continue;
    }
    const auto& m = e.manifest;
    Json j{{"id", m.id},
           {"name", m.name},
           {"version", m.version},
           {"kind", models::ModelKindName(m.kind)},
           {"framework", m.framework},
           {"license", m.license},
           {"sha256", m.sha256},
           {"state", e.usable() ? "ok" : e.problem.reason()}};
    if (!e.usable()) j["problem"] = e.problem.message();
    out.push_back(std::move(j));
  }
  return out;
}

Json AnalyzersBrief(const Analysis& analysis) {
  Json out = Json::array();
  for (const auto* a : analysis.registry.All()) {
    Json models = Json::array();
    for (const auto& [id, sha] : a->info().models) models.push_back({{"id", id}, {"sha256", sha}});
    out.push_back({{"name", a->info().name},
                   {"version", a->info().version},
                   {"description", a->info().description},
                   {"models", models}});
  }
  return out;
}

size_t ResidentModels(const Analysis* analysis) {
  return analysis != nullptr && analysis->models != nullptr && analysis->models->cache != nullptr
             ? analysis->models->cache->stats().resident_models
             : 0;
}

}  // namespace

Result<Json> AnalyzerContracts(Engine& engine) {
  auto analysis = engine.analysis();
  if (!analysis.ok()) return analysis.status();
  Json all = Json::array();
  for (const analysis::Analyzer* a : (*analysis)->registry.All()) {
    const auto& info = a->info();
    Json params = Json::array();
    for (const auto& p : info.params) {
      params.push_back({{"name", p.name},
                        {"default", p.default_value},
                        {"min", p.min},
                        {"max", p.max},
                        {"unit", p.unit},
                        {"description", p.description}});
    }
    Json outputs = Json::array();
    for (const auto& o : info.outputs) {
      Json out{{"name", o.name},
               {"unit", o.unit},
               {"description", o.description},
               {"type", o.file   ? "file"
                        : o.text ? "text"
                                 : "number"}};
      if (o.file) out["media_type"] = o.media_type;
      outputs.push_back(std::move(out));
    }
    all.push_back(
        {{"name", info.name},
         {"version", info.version},
         {"description", info.description},
         {"view", {{"sample_rate", info.view.sample_rate}, {"channels", info.view.channels}}},
         {"window", info.window},
         {"params", params},
         {"outputs", outputs}});
  }
  if (!(*analysis)->notes_missing.empty()) {
    all.push_back(
        {{"name", "notes"}, {"installed", false}, {"description", (*analysis)->notes_missing}});
  }
  return all;
}

std::string ModelState(const models::ModelEntry& e) {
  if (!e.manifest_error.ok()) return std::string(e.manifest_error.reason());
  if (!e.problem.ok()) return std::string(e.problem.reason());
  return e.verified ? "verified" : "ok";
}

Json ModelJson(const models::ModelEntry& e, const models::ModelRegistry& registry, bool full) {
  Json j{{"manifest", e.manifest_path.string()}, {"state", ModelState(e)}};
  if (!Problem(e).empty()) j["problem"] = Problem(e);
  if (!e.manifest_error.ok()) return j;
  const models::Manifest& m = e.manifest;
  j["id"] = m.id;
  j["name"] = m.name;
  j["version"] = m.version;
  j["kind"] = models::ModelKindName(m.kind);
  j["framework"] = m.framework;
  j["runtime"] = m.runtime;
  j["file"] = e.model_path.string();
  j["size"] = e.file_size;
  j["sha256"] = m.sha256;
  j["license"] = m.license;
  j["verified"] = e.verified;
  if (!full) return j;
  j["source"] = m.source;
  j["description"] = m.description;
  if (m.kind == models::ModelKind::kHead) {
    j["embedder"] = m.embedder;
    const models::ModelEntry* embedder = registry.Find(m.embedder);
    if (embedder != nullptr) j["tag_prefix"] = models::TagPrefix(m, &embedder->manifest);
  } else if (m.kind == models::ModelKind::kTranscriber) {
    j["input"] = {{"frontend", "waveform"},
                  {"sample_rate", m.waveform.sample_rate},
                  {"window", m.waveform.window}};
    j["analysis"] = "notes";
  } else {
    const auto& f = m.frontend;
    j["input"] = {
        {"frontend", "logmel"},
        {"sample_rate", f.sample_rate},
        {"frame_size", f.frame_size},
        {"hop_size", f.hop_size},
        {"mel_bands", f.mel_bands},
        {"low_hz", f.low_hz},
        {"high_hz", f.high_hz},
        {"log", f.log == dsp::LogCompression::kDecibel ? "db" : "log10_1p"},
        {"log_scale", f.log_scale},
        {"patch_frames", f.patch_frames},
        {"patch_hop", f.patch_hop},
        {"layout", m.layout == models::TensorLayout::kPatchChannelFramesBands ? "ncfb" : "nfb"}};
    j["analysis"] = models::AnalysisName(m);
    if (m.kind == models::ModelKind::kClassifier) j["tag_prefix"] = models::TagPrefix(m, nullptr);
    if (m.kind == models::ModelKind::kEmbedder) j["space"] = models::AnalysisName(m);
  }
  if (m.kind == models::ModelKind::kEmbedder) {
    j["output"] = {{"dim", m.dim}};
  } else if (m.kind == models::ModelKind::kTranscriber) {
    j["output"] = {{"names", m.output_names}, {"frames", m.output_frames}};
  } else {
    j["output"] = {{"labels", m.labels}, {"activation", models::ActivationName(m.activation)}};
    Json rules;
    for (const auto& [name, r] :
         {std::pair{"high", m.tiers.high}, std::pair{"medium", m.tiers.medium},
          std::pair{"low", m.tiers.low}}) {
      rules[name] = {{"probability", r.probability}, {"margin", r.margin}, {"spread", r.spread}};
    }
    j["tiers"] = {{"mode", m.tiers.multilabel ? "multilabel" : "exclusive"},
                  {"labels", m.tiers.labels},
                  {"contradicts", m.tiers.contradicts},
                  {"rules", rules}};
  }
  return j;
}

Result<models::ModelRegistry> DiscoverModels(Engine& engine, bool verify) {
  auto registry = models::ModelRegistry::Discover(engine.models_dir());
  if (!registry.ok()) return registry.status();
  if (verify) registry->Verify();
  return registry;
}

Result<models::ModelEntry> ImportModel(Engine& engine, const std::filesystem::path& file,
                                       const std::filesystem::path& manifest) {
  auto entry = models::ImportModel(file, manifest, engine.models_dir());
  // A manifest or file that cannot be understood, or whose sha256 differs, is the caller's
  // input at fault, not damage to the engine's data.
  if (!entry.ok() && entry.status().code() == StatusCode::kCorrupt) {
    return InvalidArgument(entry.status().message())
        .WithReason(std::string(entry.status().reason()));
  }
  return entry;
}

Result<Json> Capabilities(Engine& engine) {
  auto analysis = engine.analysis();
  if (!analysis.ok()) return analysis.status();
  auto spaces = Spaces(engine);
  if (!spaces.ok()) return spaces.status();
  const Config& c = engine.config();
  return Json{{"version", kEngineVersion},
              {"api_version", 1},
              {"job_kinds", engine.jobs().kinds()},
              {"priorities", {{"now_playing", 0}, {"normal", 10}, {"background", 20}}},
              {"spaces", *spaces},
              {"analyzers", AnalyzersBrief(**analysis)},
              {"features",
               {"similar", "mix", "path", "track_filters", "write_tags", "metrics", "job_events"}},
              {"limits",
               {{"max_body_bytes", c.Int("server.max_body")},
                {"max_upload_bytes", c.Int("server.max_upload")},
                {"max_concurrent_jobs", engine.budget().job_workers},
                {"max_queued_jobs", c.Int("server.max_queued_jobs")},
                {"rate_per_second", c.Number("server.rate_limit")},
                {"rate_burst", c.Number("server.rate_burst")}}}};
}

Result<Json> PluginManifest(Engine& engine) {
  auto analysis = engine.analysis();
  if (!analysis.ok()) return analysis.status();
  return Json{{"id", "timbre"},
              {"name", "timbre"},
              {"version", kEngineVersion},
              {"capability", "analysis"},
              {"description",
               "Music analysis (tempo, key, loudness, timbre, fingerprints), similarity and tag "
               "writing for a music library"},
              {"model", nullptr},
              {"requirements", {{"gpu", false}, {"network", false}}},
              {"analyzers", AnalyzersBrief(**analysis)},
              {"models", ModelsBrief(*analysis)},
              {"job_kinds", engine.jobs().kinds()}};
}

Health CheckHealth(Engine& engine, bool deep, double uptime_s) {
  const Analysis* analysis = engine.analysis_if_ready();
  Health h;
  h.body = {{"status", "ok"},
            {"version", kEngineVersion},
            {"active_jobs", engine.jobs().active()},
            {"max_concurrent_jobs", engine.jobs().workers()},
            {"model_cached", ResidentModels(analysis) > 0},
            {"models_loaded", ResidentModels(analysis)},
            {"uptime_s", uptime_s}};
  if (!deep) return h;

  // Deep: the store answers, the index opens, the queue is readable, every model is usable.
  Json checks = Json::object();
  auto counts = engine.store().CountJobs();
  if (counts.ok()) {
    checks["store"] = {{"ok", true}, {"description", engine.store().description()}};
    h.body["queue"] = {{"pending", counts->pending},
                       {"processing", counts->processing},
                       {"completed", counts->completed},
                       {"failed", counts->failed},
                       {"cancelled", counts->cancelled}};
  } else {
    h.healthy = false;
    checks["store"] = {{"ok", false}, {"error", counts.status().message()}};
  }
  auto index = engine.indexes().Get(index::kTimbreV1Space);
  if (index.ok()) {
    checks["index"] = {
        {"ok", true}, {"space", index::kTimbreV1Space}, {"vectors", (*index)->vectors().size()}};
  } else {
    h.healthy = false;
    checks["index"] = {{"ok", false}, {"error", index.status().message()}};
  }
  auto set_up = engine.analysis();
  if (set_up.ok()) analysis = *set_up;
  Json problems = Json::array();
  size_t usable = 0;
  for (const auto& m : ModelsBrief(analysis)) {
    if (m["state"] == "ok") {
      ++usable;
    } else {
      problems.push_back(m);
    }
  }
  Json models{{"ok", problems.empty() && set_up.ok()},
              {"usable", usable},
              {"loaded", ResidentModels(analysis)}};
  if (!set_up.ok()) models["error"] = set_up.status().message();
  if (!problems.empty()) models["problems"] = problems;
  if (analysis != nullptr && !analysis->notes_missing.empty()) {
    models["notes"] = analysis->notes_missing;
  }
  if (!problems.empty() || !set_up.ok()) h.healthy = false;
  checks["models"] = models;
  h.body["checks"] = checks;
  if (!h.healthy) h.body["status"] = "degraded";
  return h;
}

}  // namespace timbre::service
