// Job routes: the plugin contract (/jobs) and our own (/v1/jobs). Both submit to the same
// persistent queue through the engine; they differ in shape: the plugin contract takes a
// track or a file and reports progress as 0–1, /v1 takes any registered kind and reports
// progress in detail. GET /v1/jobs/{id}/events follows a job as Server-Sent Events.
#include <fmt/format.h>

#include "api_context.h"
#include "timbre/core/hash.h"
#include "timbre/service/jobs.h"
#include "timbre/store/json_views.h"

namespace timbre::server {
namespace {

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

// An optional integer member within [lo, hi].
Result<int> IntMember(const Json& body, const char* name, int fallback, int lo, int hi,
                      const std::string& rule) {
  if (!body.contains(name)) return fallback;
  const Json& v = body[name];
  if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi) {
    return InvalidArgument(rule);
  }
  return v.get<int>();
}

// Queues a job; `plugin` selects the plugin contract's answer and limit.
HttpResponse Submit(ApiContext& c, const HttpRequest& r, Json body, bool plugin) {
  if (body.contains("kind") && !body["kind"].is_string()) {
    return ErrorReply(InvalidArgument("\"kind\" must be a string"));
  }
  if (!body.contains("kind") && !plugin) {
    return ErrorReply(InvalidArgument(
        fmt::format("\"kind\" is required: one of {}", Json(c.engine.jobs().kinds()).dump())));
  }
  service::SubmitJobRequest request;
  request.kind = body.contains("kind") ? body["kind"].get<std::string>() : "analyze";
  if (plugin && (request.kind == "analysis" || request.kind == "analyse")) {
    request.kind = "analyze";
  }
  auto priority = IntMember(body, "priority", 10, 0, 100,
                            "\"priority\" must be an integer from 0 (now playing) to 100; 10 is "
                            "normal, 20 background");
  if (!priority.ok()) return ErrorReply(priority.status());
  auto attempts =
      IntMember(body, "max_attempts", 3, 1, 20, "\"max_attempts\" must be from 1 to 20");
  if (!attempts.ok()) return ErrorReply(attempts.status());
  request.priority = *priority;
  request.max_attempts = *attempts;
  // The plugin contract says "busy" at the concurrency limit; /v1 queues up to a cap.
  request.queue_limit =
      plugin ? c.engine.jobs().workers() : c.engine.config().Int("server.max_queued_jobs");
  for (const char* field : {"kind", "priority", "max_attempts"}) body.erase(field);
  request.payload = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  request.idempotency_key = r.Header("idempotency-key");
  if (!request.idempotency_key.empty()) {
    request.request_hash = HashString(r.method + " " + r.path + "\n" + r.body);
  }
  auto submitted = service::SubmitJob(c.engine, request);
  if (!submitted.ok()) return ErrorReply(submitted.status());
  const bool replayed = submitted->replayed;
  HttpResponse response =
      JsonResponse(replayed ? 200 : (plugin ? 202 : 201),
                   plugin ? PluginJobJson(submitted->job) : JobJson(submitted->job));
  response.headers["Location"] =
      fmt::format("{}/{}", plugin ? "/jobs" : "/v1/jobs", submitted->job.id);
  if (replayed) response.headers["Idempotent-Replayed"] = "true";
  return response;
}

HttpResponse Fetch(ApiContext& c, const Params& p, bool plugin) {
  auto id = PathId(p, "job");
  if (!id.ok()) return ErrorReply(id.status());
  auto job = service::GetJob(c.engine, *id);
  if (!job.ok()) return ErrorReply(job.status());
  return JsonResponse(200, plugin ? PluginJobJson(*job) : JobJson(*job));
}

HttpResponse Cancel(ApiContext& c, const Params& p, bool plugin) {
  auto id = PathId(p, "job");
  if (!id.ok()) return ErrorReply(id.status());
  auto job = service::CancelJob(c.engine, *id);
  if (!job.ok()) return ErrorReply(job.status());
  return JsonResponse(200, plugin ? PluginJobJson(*job) : JobJson(*job));
}

// One Server-Sent Event: its name, and the data on one line (JSON has no raw line breaks).
std::string Event(std::string_view name, const Json& data) {
  return fmt::format("event: {}\ndata: {}\n\n", name,
                     data.dump(-1, ' ', false, Json::error_handler_t::replace));
}

}  // namespace

HttpResponse PluginSubmitJob(ApiContext& c, const HttpRequest& r, const Params&) {
  auto body = ParseObject(r);
  if (!body.ok()) return ErrorReply(body.status());
  if (!body->contains("track_id") && !body->contains("file_path")) {
    return ErrorReply(InvalidArgument("a job needs \"track_id\" or \"file_path\""));
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
  if (!body.ok()) return ErrorReply(body.status());
  return Submit(c, r, std::move(*body), false);
}

HttpResponse ListJobs(ApiContext& c, const HttpRequest& r, const Params&) {
  std::optional<store::JobState> state;
  if (const std::string s = r.Query("state"); !s.empty()) {
    state = store::ParseJobState(s);
    if (!state) {
      return ErrorReply(InvalidArgument(fmt::format(
          "unknown state '{}': pending, processing, completed, failed or cancelled", s)));
    }
  }
  auto limit = QueryInt(r, "limit", 100, 1, 10000);
  if (!limit.ok()) return ErrorReply(limit.status());
  auto jobs = service::ListJobs(c.engine, state, static_cast<size_t>(*limit));
  if (!jobs.ok()) return ErrorReply(jobs.status());
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

// The job as events: `progress` with the job each time it changes, then `done` with the job
// once it has finished (completed, failed or cancelled), and the stream ends. A comment line
// goes out after a while without news, so that proxies keep the connection and a client that
// left is noticed.
HttpResponse JobEvents(ApiContext& c, const HttpRequest&, const Params& p) {
  auto id = PathId(p, "job");
  if (!id.ok()) return ErrorReply(id.status());
  auto stream = std::make_shared<ResponseStream>();
  auto token = c.engine.job_events().Subscribe(*id, [stream](const store::JobRecord* job) {
    if (job == nullptr) return stream->Write(": still here\n\n");
    const bool finished = job->state == store::JobState::kCompleted ||
                          job->state == store::JobState::kFailed ||
                          job->state == store::JobState::kCancelled;
    const bool sent = stream->Write(Event(finished ? "done" : "progress", JobJson(*job)));
    if (finished) stream->Close();
    return sent && !finished;
  });
  if (!token.ok()) return ErrorReply(token.status());
  HttpResponse r;
  r.content_type = "text/event-stream";
  r.headers["Cache-Control"] = "no-cache";
  r.headers["X-Accel-Buffering"] = "no";  // nginx: pass events through as they come
  r.stream = std::move(stream);
  return r;
}

}  // namespace timbre::server
