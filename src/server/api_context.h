// What the API's handlers share: the engine, access control, metrics, and the helpers every
// handler uses to read requests and answer. Handlers never choose an error status: they
// return a Status, and ErrorReply() answers with the status core/status.h's table gives it.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "timbre/server/access.h"
#include "timbre/server/http.h"
#include "timbre/server/server.h"
#include "timbre/service/engine.h"

namespace timbre::server {

using Json = nlohmann::json;
using Params = std::map<std::string, std::string>;  // {id} and the like, from the path

struct ApiContext {
  ApiContext(service::Engine& e, Credentials c);

  service::Engine& engine;
  Credentials credentials;
  RateLimiter limiter;
  Clock::TimePoint started;

  std::shared_ptr<prometheus::Registry> registry;
  prometheus::Family<prometheus::Counter>* requests = nullptr;
  prometheus::Family<prometheus::Histogram>* latency = nullptr;
  prometheus::Family<prometheus::Counter>* undocumented = nullptr;
};

// A success: 200, 201, 202, and the body as JSON.
HttpResponse JsonResponse(int status, const Json& body);
// A body already written as JSON text.
HttpResponse JsonTextResponse(int status, std::string body);
// An error: {code: the status's reason, message}, with its table status (and Retry-After for
// 429 and 503).
HttpResponse ErrorReply(const Status& status);

// The body as a JSON object, or InvalidArgument naming what is wrong.
Result<Json> ParseObject(const HttpRequest& request);
// An integer query parameter within [lo, hi]; `fallback` when absent.
Result<int64_t> QueryInt(const HttpRequest& request, const std::string& name, int64_t fallback,
                         int64_t lo, int64_t hi);
bool QueryFlag(const HttpRequest& request, const std::string& name);
// A positive id from the path: NotFound for anything else (no such resource can exist).
Result<int64_t> PathId(const Params& params, const char* what);

// Route handlers, by file.
HttpResponse Health(ApiContext& c, const HttpRequest& r, const Params& p);
HttpResponse Manifest(ApiContext& c, const HttpRequest& r, const Params& p);
HttpResponse Capabilities(ApiContext& c, const HttpRequest& r, const Params& p);
HttpResponse OpenApi(ApiContext& c, const HttpRequest& r, const Params& p);
HttpResponse Metrics(ApiContext& c, const HttpRequest& r, const Params& p);

HttpResponse PluginSubmitJob(ApiContext& c, const HttpRequest& r, const Params& p);
HttpResponse PluginGetJob(ApiContext& c, const HttpRequest& r, const Params& p);
HttpResponse PluginCancelJob(ApiContext& c, const HttpRequest& r, const Params& p);
HttpResponse SubmitJob(ApiContext& c, const HttpRequest& r, const Params& p);
HttpResponse ListJobs(ApiContext& c, const HttpRequest& r, const Params& p);
HttpResponse GetJob(ApiContext& c, const HttpRequest& r, const Params& p);
HttpResponse CancelJob(ApiContext& c, const HttpRequest& r, const Params& p);
HttpResponse JobEvents(ApiContext& c, const HttpRequest& r, const Params& p);

HttpResponse ListModels(ApiContext& c, const HttpRequest& r, const Params& p);
HttpResponse ImportModel(ApiContext& c, const HttpRequest& r, const Params& p);

HttpResponse ListTracks(ApiContext& c, const HttpRequest& r, const Params& p);
HttpResponse GetTrack(ApiContext& c, const HttpRequest& r, const Params& p);
HttpResponse SimilarTracks(ApiContext& c, const HttpRequest& r, const Params& p);
HttpResponse TrackNotes(ApiContext& c, const HttpRequest& r, const Params& p);
HttpResponse TrackArtifact(ApiContext& c, const HttpRequest& r, const Params& p);
HttpResponse Mix(ApiContext& c, const HttpRequest& r, const Params& p);
HttpResponse Path(ApiContext& c, const HttpRequest& r, const Params& p);

}  // namespace timbre::server
