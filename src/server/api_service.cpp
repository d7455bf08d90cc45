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

Json Analyzers() {
  analysis::Registry registry;
  analysis::RegisterBuiltinAnalyzers(registry);
  Json out = Json::array();
  for (const auto* a : registry.All()) {
    out.push_back({{"name", a->info().name},
                   {"version", a->info().version},
                   {"description", a->info().description}});
  }
  return out;
}

}  // namespace

HttpResponse Health(ApiContext& c, const HttpRequest& r, const Params&) {
  Json j{{"status", "ok"},
         {"version", kEngineVersion},
         {"active_jobs", c.runner.active()},
         {"max_concurrent_jobs", c.runner.workers()},
         {"model_cached", false},  // no model runtime yet: nothing to keep loaded
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
  checks["models"] = {{"ok", true}, {"loaded", 0}, {"note", "no model registry configured"}};
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
            {"analyzers", Analyzers()},
            {"models", Json::array()},
            {"job_kinds", c.runner.kinds()}});
}

HttpResponse Capabilities(ApiContext& c, const HttpRequest&, const Params&) {
  return JsonResponse(
      200, {{"version", kEngineVersion},
            {"api_version", 1},
            {"job_kinds", c.runner.kinds()},
            {"priorities", {{"now_playing", 0}, {"normal", 10}, {"background", 20}}},
            {"spaces", {index::kTimbreV1Space}},
            {"analyzers", Analyzers()},
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
