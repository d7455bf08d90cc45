// Job routes: the plugin contract (/jobs) and our own (/v1/jobs). Both submit to the same
// persistent queue; they differ in shape: the plugin contract takes a track or a file and
// reports progress as 0–1, /v1 takes any registered kind and reports progress in detail.
#include <charconv>

#include <fmt/format.h>

#include "api_context.h"
#include "timbre/core/hash.h"
#include "timbre/store/json_views.h"

namespace timbre::server {
namespace {

constexpr int kDefaultPriority = 10;

using store::JobJson;

// The plugin contract's view: status, and progress as a fraction.
Json PluginJobJson(const store::JobRecord& j) {
  const Json full = JobJson(j);
  const Json& detail = full["progress"];
  double fraction = j.state == store::JobState::kCompleted ? 1.0 : 0.0;
  if (fraction == 0.0 && detail.is_object() && detail.contains("percent") &&
      detail["percent"].is_number()) {
    fraction = std::clamp(detail["percent"].get<double>() / 100.0, 0.0, 1.0);
  }
  return {{"id", j.id},
          {"job_id", j.id},
          {"kind", j.kind},
          {"status", store::JobStateName(j.state)},
          {"priority", j.priority},
          {"progress", fraction},
          {"message", detail.is_object() ? detail.value("message", "") : ""},
          {"result", full["result"]},
          {"error", full["error"]},
          {"created_at", j.created_at},
          {"updated_at", j.updated_at}};
}

Result<int64_t> JobId(const Params& p) {
  const std::string& s = p.at("id");
  int64_t id = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
  if (ec != std::errc() || ptr != s.data() + s.size() || id <= 0) {
    return NotFound(fmt::format("no job '{}'", s));
  }
  return id;
}

Result<int> Priority(const Json& body) {
  if (!body.contains("priority")) return kDefaultPriority;
  const Json& p = body["priority"];
  if (!p.is_number_integer() || p.get<int64_t>() < 0 || p.get<int64_t>() > 100) {
    return InvalidArgument(
        "\"priority\" must be an integer from 0 (now playing) to 100; "
        "10 is normal, 20 background");
  }
  return p.get<int>();
}

// Checks a payload for the built-in kinds before it is queued, so that a bad request fails
// now with a 400 rather than later as a failed job; file paths are confined to the library.
Status ValidatePayload(const ApiContext& c, const std::string& kind, Json& payload) {
  auto confine_list = [&](const char* field) -> Status {
    Json& list = payload[field];
    if (!list.is_array() || list.empty()) {
      return InvalidArgument(fmt::format("\"{}\" must be a non-empty list of paths", field));
    }
    for (auto& p : list) {
      if (!p.is_string()) return InvalidArgument(fmt::format("\"{}\" must hold strings", field));
      auto confined = ConfinedPath(c, p.get<std::string>());
      if (!confined.ok()) return confined.status();
      p = *confined;
    }
    return Status::Ok();
  };
  if (kind == "scan") return confine_list("paths");
  if (kind == "analyze") {
    if (payload.contains("track_id")) {
      if (!payload["track_id"].is_number_integer()) {
        return InvalidArgument("\"track_id\" must be an integer");
      }
      return Status::Ok();
    }
    if (payload.contains("file_path")) {
      if (!payload["file_path"].is_string())
        return InvalidArgument("\"file_path\" must be a string");
      auto confined = ConfinedPath(c, payload["file_path"].get<std::string>());
      if (!confined.ok()) return confined.status();
      payload["file_path"] = *confined;
      return Status::Ok();
    }
    return InvalidArgument("an analyze job needs \"track_id\" or \"file_path\"");
  }
  if (kind == "write-tags") {
    if (payload.contains("paths")) return confine_list("paths");
    if (!payload.contains("track_ids") || !payload["track_ids"].is_array() ||
        payload["track_ids"].empty()) {
      return InvalidArgument("a write-tags job needs \"track_ids\" or \"paths\"");
    }
    for (const auto& id : payload["track_ids"]) {
      if (!id.is_number_integer()) return InvalidArgument("\"track_ids\" must hold integers");
    }
  }
  return Status::Ok();
}

// Queues a job; `plugin` selects the plugin contract's answer.
HttpResponse Submit(ApiContext& c, const HttpRequest& r, Json body, bool plugin) {
  if (body.contains("kind") && !body["kind"].is_string()) {
    return ErrorResponse(400, "invalid_argument", "\"kind\" must be a string");
  }
  if (!body.contains("kind") && !plugin) {
    return ErrorResponse(
        400, "invalid_argument",
        fmt::format("\"kind\" is required: one of {}", Json(c.runner.kinds()).dump()));
  }
  std::string kind = body.contains("kind") ? body["kind"].get<std::string>() : "analyze";
  if (plugin && (kind == "analysis" || kind == "analyse")) kind = "analyze";
  if (!c.runner.Handles(kind)) {
    return ErrorResponse(
        400, "unknown_kind",
        fmt::format("unknown kind '{}': one of {}", kind, Json(c.runner.kinds()).dump()));
  }
  auto priority = Priority(body);
  if (!priority.ok()) return StatusResponse(priority.status());
  int max_attempts = 3;
  if (body.contains("max_attempts")) {
    if (!body["max_attempts"].is_number_integer() || body["max_attempts"].get<int64_t>() < 1 ||
        body["max_attempts"].get<int64_t>() > 20) {
      return ErrorResponse(400, "invalid_argument", "\"max_attempts\" must be from 1 to 20");
    }
    max_attempts = body["max_attempts"].get<int>();
  }

  auto counts = c.store.CountJobs();
  if (!counts.ok()) return StatusResponse(counts.status());
  const int64_t unfinished = counts->pending + counts->processing;
  // The plugin contract says "busy" at the concurrency limit; /v1 queues up to a cap.
  const int64_t limit =
      plugin ? c.runner.workers() : static_cast<int64_t>(c.options.max_queued_jobs);
  if (unfinished >= limit) {
    HttpResponse busy =
        ErrorResponse(429, "busy",
                      fmt::format("{} jobs are waiting or running (limit {}); try again later",
                                  unfinished, limit));
    busy.headers["Retry-After"] = "1";
    return busy;
  }

  Json payload = body;
  for (const char* field : {"kind", "priority", "max_attempts"}) payload.erase(field);
  const Status valid = ValidatePayload(c, kind, payload);
  if (!valid.ok()) return StatusResponse(valid);

  store::NewJob job;
  job.kind = kind;
  job.payload = payload.dump();
  job.priority = *priority;
  job.max_attempts = max_attempts;
  job.idempotency_key = r.Header("idempotency-key");
  if (!job.idempotency_key.empty()) {
    job.request_hash = HashString(r.method + " " + r.path + "\n" + r.body);
  }
  bool replayed = false;
  auto submitted = c.store.SubmitJob(job, &replayed);
  if (!submitted.ok()) {
    if (submitted.status().reason() == "idempotency_mismatch") {
      return ErrorResponse(422, "idempotency_mismatch", submitted.status().message());
    }
    return StatusResponse(submitted.status());
  }
  if (!replayed) c.runner.Wake();
  HttpResponse response = JsonResponse(replayed ? 200 : (plugin ? 202 : 201),
                                       plugin ? PluginJobJson(*submitted) : JobJson(*submitted));
  response.headers["Location"] = fmt::format("{}/{}", plugin ? "/jobs" : "/v1/jobs", submitted->id);
  if (replayed) response.headers["Idempotent-Replayed"] = "true";
  return response;
}

HttpResponse Fetch(ApiContext& c, const Params& p, bool plugin) {
  auto id = JobId(p);
  if (!id.ok()) return StatusResponse(id.status());
  auto job = c.store.GetJob(*id);
  if (!job.ok()) return StatusResponse(job.status());
  if (!*job) return ErrorResponse(404, "not_found", fmt::format("no job {}", *id));
  return JsonResponse(200, plugin ? PluginJobJson(**job) : JobJson(**job));
}

HttpResponse Cancel(ApiContext& c, const Params& p, bool plugin) {
  auto id = JobId(p);
  if (!id.ok()) return StatusResponse(id.status());
  auto job = c.store.CancelJob(*id);
  if (!job.ok()) return StatusResponse(job.status());
  if (!*job) return ErrorResponse(404, "not_found", fmt::format("no job {}", *id));
  const auto state = (*job)->state;
  if (state == store::JobState::kCompleted || state == store::JobState::kFailed) {
    return ErrorResponse(409, "finished",
                         fmt::format("job {} already {}", *id, store::JobStateName(state)));
  }
  return JsonResponse(200, plugin ? PluginJobJson(**job) : JobJson(**job));
}

}  // namespace

HttpResponse PluginSubmitJob(ApiContext& c, const HttpRequest& r, const Params&) {
  auto body = ParseObject(r);
  if (!body.ok()) return StatusResponse(body.status());
  if (!body->contains("track_id") && !body->contains("file_path")) {
    return ErrorResponse(400, "invalid_argument", "a job needs \"track_id\" or \"file_path\"");
  }
  return Submit(c, r, std::move(*body), true);
}

HttpResponse PluginGetJob(ApiContext& c, const HttpRequest&, const Params& p) {
  return Fetch(c, p, true);
}

HttpResponse PluginCancelJob(ApiContext& c, const HttpRequest&, const Params& p) {
  return Cancel(c, p, true);
}

HttpResponse SubmitJob(ApiContext& c, const HttpRequest& r, const Params&) {
  auto body = ParseObject(r);
  if (!body.ok()) return StatusResponse(body.status());
  return Submit(c, r, std::move(*body), false);
}

HttpResponse ListJobs(ApiContext& c, const HttpRequest& r, const Params&) {
  std::optional<store::JobState> state;
  if (const std::string s = r.Query("state"); !s.empty()) {
    state = store::ParseJobState(s);
    if (!state) {
      return ErrorResponse(400, "invalid_argument",
                           fmt::format("unknown state '{}': pending, processing, completed, "
                                       "failed or cancelled",
                                       s));
    }
  }
  auto limit = QueryInt(r, "limit", 100, 1, 10000);
  if (!limit.ok()) return StatusResponse(limit.status());
  auto jobs = c.store.ListJobs(state, static_cast<size_t>(*limit));
  if (!jobs.ok()) return StatusResponse(jobs.status());
  Json list = Json::array();
  for (const auto& j : *jobs) list.push_back(JobJson(j));
  return JsonResponse(200, {{"jobs", list}});
}

HttpResponse GetJob(ApiContext& c, const HttpRequest&, const Params& p) {
  return Fetch(c, p, false);
}

HttpResponse CancelJob(ApiContext& c, const HttpRequest&, const Params& p) {
  return Cancel(c, p, false);
}

}  // namespace timbre::server
