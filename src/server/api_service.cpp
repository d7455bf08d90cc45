// Routes about the service itself: health, the plugin manifest, capabilities, the OpenAPI
// description.
#include <fmt/format.h>

#include "api_context.h"
#include "openapi.h"
#include "timbre/analysis/registry.h"
#include "timbre/core/version.h"
#include "timbre/index/timbre_v1.h"

namespace timbre::server {
namespace {

Json Analyzers(const ApiContext& c) {
  analysis::Registry builtins;
  const analysis::Registry* registry = c.options.analyzers;
  if (registry == nullptr) {
    analysis::RegisterBuiltinAnalyzers(builtins);
    registry = &builtins;
  }
  Json out = Json::array();
  for (const auto* a : registry->All()) {
    Json models = Json::array();
    for (const auto& [id, sha] : a->info().models) models.push_back({{"id", id}, {"sha256", sha}});
    out.push_back({{"name", a->info().name},
                   {"version", a->info().version},
                   {"description", a->info().description},
                   {"models", models}});
  }
  return out;
}

// The models folder's entries with their state, as `timbre models list --json` names them.
Json Models(const ApiContext& c) {
  Json out = Json::array();
  if (c.options.models == nullptr) return out;
  for (const auto& e : c.options.models->registry.entries()) {
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

size_t ResidentModels(const ApiContext& c) {
  const auto* m = c.options.models;
  return m != nullptr && m->cache != nullptr ? m->cache->stats().resident_models : 0;
}

}  // namespace

HttpResponse Health(ApiContext& c, const HttpRequest& r, const Params&) {
  Json j{{"status", "ok"},
         {"version", kEngineVersion},
         {"active_jobs", c.runner.active()},
         {"max_concurrent_jobs", c.runner.workers()},
         {"model_cached", ResidentModels(c) > 0},
         {"models_loaded", ResidentModels(c)},
         {"uptime_s",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - c.started).count()}};
  if (!QueryFlag(r, "deep")) return JsonResponse(200, j);

  // Deep: the store answers, the index opens, the queue is readable.
  Json checks = Json::object();
  bool healthy = true;
  auto counts = c.store.CountJobs();
  if (counts.ok()) {
    checks["store"] = {{"ok", true}, {"description", c.store.description()}};
    j["queue"] = {{"pending", counts->pending},
                  {"processing", counts->processing},
                  {"completed", counts->completed},
                  {"failed", counts->failed},
                  {"cancelled", counts->cancelled}};
  } else {
    healthy = false;
    checks["store"] = {{"ok", false}, {"error", counts.status().message()}};
  }
  auto index = c.indexes.Get(c.store, index::kTimbreV1Space);
  if (index.ok()) {
    checks["index"] = {
        {"ok", true}, {"space", index::kTimbreV1Space}, {"vectors", (*index)->vectors().size()}};
  } else {
    healthy = false;
    checks["index"] = {{"ok", false}, {"error", index.status().message()}};
  }
  // Models: every manifest in the folder is usable (a broken one is reported, not fatal to
  // the others, but the service is degraded).
  Json problems = Json::array();
  size_t usable = 0;
  for (const auto& m : Models(c)) {
    if (m["state"] == "ok") {
      ++usable;
    } else {
      problems.push_back(m);
    }
  }
  Json models{{"ok", problems.empty()}, {"usable", usable}, {"loaded", ResidentModels(c)}};
  if (!problems.empty()) models["problems"] = problems;
  if (c.options.models != nullptr && !c.options.models->notes_missing.empty()) {
    models["notes"] = c.options.models->notes_missing;
  }
  if (!problems.empty()) healthy = false;
  checks["models"] = models;
  j["checks"] = checks;
  if (!healthy) j["status"] = "degraded";
  return JsonResponse(healthy ? 200 : 503, j);
}

HttpResponse Manifest(ApiContext& c, const HttpRequest&, const Params&) {
  return JsonResponse(
      200, {{"id", "timbre"},
            {"name", "timbre"},
            {"version", kEngineVersion},
            {"capability", "analysis"},
            {"description",
             "Music analysis (tempo, key, loudness, timbre, fingerprints), similarity and tag "
             "writing for a music library"},
            {"model", nullptr},
            {"requirements", {{"gpu", false}, {"network", false}}},
            {"analyzers", Analyzers(c)},
            {"models", Models(c)},
            {"job_kinds", c.runner.kinds()}});
}

HttpResponse Capabilities(ApiContext& c, const HttpRequest&, const Params&) {
  return JsonResponse(
      200, {{"version", kEngineVersion},
            {"api_version", 1},
            {"job_kinds", c.runner.kinds()},
            {"priorities", {{"now_playing", 0}, {"normal", 10}, {"background", 20}}},
            {"spaces", {index::kTimbreV1Space}},
            {"analyzers", Analyzers(c)},
            {"features", {"similar", "mix", "path", "track_filters", "write_tags", "metrics"}},
            {"limits",
             {{"max_body_bytes", c.options.http.max_body_bytes},
              {"max_concurrent_jobs", c.runner.workers()},
              {"max_queued_jobs", c.options.max_queued_jobs},
              {"rate_per_second", c.options.rate_per_second},
              {"rate_burst", c.options.rate_burst}}},
            {"auth_required", c.credentials.required()}});
}

HttpResponse OpenApi(ApiContext&, const HttpRequest&, const Params&) {
  HttpResponse r;
  r.body = kOpenApiJson;
  return r;
}

}  // namespace timbre::server
