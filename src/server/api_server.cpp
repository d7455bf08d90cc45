// The API's front door: routing, access control, rate limits, metrics, the check that every
// answer is one the API document lists, and the shared helpers of api_context.h.
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api_context.h"
#include "openapi.h"

namespace timbre::server {
namespace {

using Handler = HttpResponse (*)(ApiContext&, const HttpRequest&, const Params&);

struct Route {
  const char* method;
  const char* pattern;  // "/v1/tracks/{id}/similar"
  Handler handler;
  bool open = false;    // served without credentials
  bool upload = false;  // the body goes to disk
};

const Route kRoutes[] = {
    {"GET", "/health", &Health, true},
    {"GET", "/manifest", &Manifest},
    {"GET", "/openapi.json", &OpenApi},
    {"GET", "/metrics", &Metrics},
    {"POST", "/jobs", &PluginSubmitJob},
    {"GET", "/jobs/{id}", &PluginGetJob},
    {"DELETE", "/jobs/{id}", &PluginCancelJob},
    {"GET", "/v1/capabilities", &Capabilities},
    {"GET", "/v1/models", &ListModels},
    {"POST", "/v1/models", &ImportModel, false, true},
    {"POST", "/v1/jobs", &SubmitJob},
    {"GET", "/v1/jobs", &ListJobs},
    {"GET", "/v1/jobs/{id}", &GetJob},
    {"DELETE", "/v1/jobs/{id}", &CancelJob},
    {"GET", "/v1/jobs/{id}/events", &JobEvents},
    {"GET", "/v1/tracks", &ListTracks},
    {"GET", "/v1/tracks/{id}", &GetTrack},
    {"GET", "/v1/tracks/{id}/similar", &SimilarTracks},
    {"GET", "/v1/tracks/{id}/notes", &TrackNotes},
    {"GET", "/v1/tracks/{id}/artifacts/{analyzer}/{name}", &TrackArtifact},
    {"POST", "/v1/mix", &Mix},
    {"GET", "/v1/path", &Path},
};

// The next '/'-separated segment of `path` from `pos` on ("" at the end); moves `pos` past it.
std::string_view NextSegment(std::string_view path, size_t& pos) {
  while (pos < path.size() && path[pos] == '/') ++pos;
  const size_t start = pos;
  while (pos < path.size() && path[pos] != '/') ++pos;
  return path.substr(start, pos - start);
}

// Whether `path` fits `pattern`, segment by segment; the {name} segments' values go to
// `params` only on a match. Runs for every route of every request, so it allocates nothing
// until it has matched.
bool Match(std::string_view pattern, std::string_view path, Params* params) {
  size_t at_pattern = 0, at_path = 0;
  std::string_view names[4], values[4];
  size_t captured = 0;
  while (true) {
    const std::string_view want = NextSegment(pattern, at_pattern);
    const std::string_view have = NextSegment(path, at_path);
    if (want.empty() || have.empty()) {
      if (!want.empty() || !have.empty()) return false;
      break;
    }
    if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
      if (captured == std::size(names)) return false;
      names[captured] = want.substr(1, want.size() - 2);
      values[captured++] = have;
    } else if (want != have) {
      return false;
    }
  }
  if (params != nullptr) {
    params->clear();
    for (size_t i = 0; i < captured; ++i) (*params)[std::string(names[i])] = std::string(values[i]);
  }
  return true;
}

// HEAD is GET without the body: libmicrohttpd leaves the body out.
bool MethodFits(const std::string& asked, const char* route) {
  return asked == route || (asked == "HEAD" && std::string_view(route) == "GET");
}

// Each route's answers as docs/openapi.json lists them.
std::vector<std::set<int>> DocumentedStatuses() {
  std::vector<std::set<int>> out(std::size(kRoutes));
  const Json doc = Json::parse(kOpenApiJson, nullptr, false);
  for (size_t i = 0; i < std::size(kRoutes); ++i) {
    const std::string method = [&] {
      std::string m = kRoutes[i].method;
      std::transform(m.begin(), m.end(), m.begin(), ::tolower);
      return m;
    }();
    if (!doc.is_object() || !doc["paths"].contains(kRoutes[i].pattern)) continue;
    const Json& op = doc["paths"][kRoutes[i].pattern][method];
    if (!op.is_object() || !op.contains("responses")) continue;
    for (const auto& [status, _] : op["responses"].items()) out[i].insert(std::stoi(status));
  }
  return out;
}

}  // namespace

std::vector<RouteInfo> Routes() {
  std::vector<RouteInfo> out;
  for (const auto& r : kRoutes) out.push_back({r.method, r.pattern, r.open, r.upload});
  return out;
}

HttpResponse JsonResponse(int status, const Json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

HttpResponse JsonTextResponse(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse ErrorReply(const Status& s) {
  const StatusCodeInfo& info = InfoOf(s.ok() ? StatusCode::kInternal : s.code());
  HttpResponse r =
      JsonResponse(info.http_status, {{"code", std::string(s.reason())}, {"message", s.message()}});
  // Worth trying again later: say when.
  if (info.http_status == 429 || info.http_status == 503) r.headers["Retry-After"] = "1";
  return r;
}

Result<Json> ParseObject(const HttpRequest& request) {
  if (request.body.empty()) return InvalidArgument("the request needs a JSON object body");
  Json j = Json::parse(request.body, nullptr, false);
  if (j.is_discarded()) return InvalidArgument("the body is not valid JSON");
  if (!j.is_object()) return InvalidArgument("the body must be a JSON object");
  return j;
}

Result<int64_t> QueryInt(const HttpRequest& request, const std::string& name, int64_t fallback,
                         int64_t lo, int64_t hi) {
  const auto it = request.query.find(name);
  if (it == request.query.end() || it->second.empty()) return fallback;
  int64_t v = 0;
  const auto& s = it->second;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < lo || v > hi) {
    return InvalidArgument(fmt::format("'{}' must be an integer from {} to {}", name, lo, hi));
  }
  return v;
}

bool QueryFlag(const HttpRequest& request, const std::string& name) {
  const std::string v = request.Query(name);
  return v == "1" || v == "true" || v == "yes";
}

Result<int64_t> PathId(const Params& params, const char* what) {
  const std::string& s = params.at("id");
  int64_t id = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
  if (ec != std::errc() || ptr != s.data() + s.size() || id <= 0) {
    return NotFound(fmt::format("no {} '{}'", what, s));
  }
  return id;
}

ApiContext::ApiContext(service::Engine& e, Credentials c)
    : engine(e),
      credentials(std::move(c)),
      limiter(e.config().Number("server.rate_limit"), e.config().Number("server.rate_burst"),
              e.clock()),
      started(e.clock().Now()),
      registry(std::make_shared<prometheus::Registry>()) {
  requests = &prometheus::BuildCounter()
                  .Name("timbre_http_requests_total")
                  .Help("HTTP requests by route and status")
                  .Register(*registry);
  latency = &prometheus::BuildHistogram()
                 .Name("timbre_http_request_seconds")
                 .Help("time to answer, by route")
                 .Register(*registry);
  undocumented = &prometheus::BuildCounter()
                      .Name("timbre_http_undocumented_responses_total")
                      .Help("answers with a status docs/openapi.json does not list for the route")
                      .Register(*registry);
}

HttpResponse Metrics(ApiContext& c, const HttpRequest&, const Params&) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, c.registry->Collect());
  // Queue and runner figures are read when asked, not kept up to date.
  auto counts = c.engine.store().CountJobs();
  if (counts.ok()) {
    out << "# HELP timbre_jobs Jobs in the queue by state\n# TYPE timbre_jobs gauge\n";
    out << "timbre_jobs{state=\"pending\"} " << counts->pending << "\n";
    out << "timbre_jobs{state=\"processing\"} " << counts->processing << "\n";
    out << "timbre_jobs{state=\"completed\"} " << counts->completed << "\n";
    out << "timbre_jobs{state=\"failed\"} " << counts->failed << "\n";
    out << "timbre_jobs{state=\"cancelled\"} " << counts->cancelled << "\n";
  }
  const jobs::JobRunner& runner = c.engine.jobs();
  out << "# HELP timbre_jobs_active Jobs running in this process\n# TYPE timbre_jobs_active gauge\n"
      << "timbre_jobs_active " << runner.active() << "\n"
      << "# HELP timbre_jobs_completed_total Jobs this process completed\n"
      << "# TYPE timbre_jobs_completed_total counter\n"
      << "timbre_jobs_completed_total " << runner.completed() << "\n"
      << "# HELP timbre_job_attempts_failed_total Attempts that failed in this process\n"
      << "# TYPE timbre_job_attempts_failed_total counter\n"
      << "timbre_job_attempts_failed_total " << runner.failed_attempts() << "\n";
  HttpResponse r;
  r.body = out.str();
  r.content_type = "text/plain; version=0.0.4";
  return r;
}

// Metric handles of one route, found on first use: prometheus-cpp's Add takes its family's
// lock and hashes the labels, which on every request cost more than a search.
struct RouteMetrics {
  std::atomic<prometheus::Histogram*> latency{nullptr};
  std::array<std::atomic<prometheus::Counter*>, 600> by_status{};  // indexed by HTTP status
};

struct ApiServer::Impl {
  std::unique_ptr<ApiContext> context;
  std::unique_ptr<HttpServer> http;
  std::array<RouteMetrics, std::size(kRoutes) + 1> metrics;  // the last: unmatched paths
  std::vector<std::set<int>> documented;

  HttpResponse Handle(const HttpRequest& request) {
    const auto start = std::chrono::steady_clock::now();
    size_t route = std::size(kRoutes);
    Params params;
    bool path_known = false;
    std::string allowed;
    for (size_t i = 0; i < std::size(kRoutes); ++i) {
      const Route& r = kRoutes[i];
      const bool method = MethodFits(request.method, r.method);
      if (!Match(r.pattern, request.path, method ? &params : nullptr)) continue;
      path_known = true;
      allowed += (allowed.empty() ? "" : ", ") + std::string(r.method);
      if (method) {
        route = i;
        break;
      }
    }
    HttpResponse response;
    if (route == std::size(kRoutes)) {
      if (path_known) {
        response = ErrorReply(Unimplemented(fmt::format("{} {} is not served; use {}",
                                                        request.method, request.path, allowed))
                                  .WithReason("method_not_allowed"));
        response.headers["Allow"] = allowed;
      } else {
        response =
            ErrorReply(NotFound(fmt::format("no route {}", request.path)).WithReason("no_route"));
      }
    } else {
      response = Guarded(kRoutes[route], request, params);
    }
    if (response.deferred) {
      // Counted when the work has answered, on the executor.
      response.deferred = [this, route, start, range = request.Header("range"),
                           work = std::move(response.deferred)] {
        HttpResponse answer = work();
        if (!answer.file.empty()) ResolveFile(answer, range);
        Count(route, answer.status, start);
        return answer;
      };
      return response;
    }
    // A file's status depends on the Range asked for: settled here, so that it is counted.
    if (!response.file.empty()) ResolveFile(response, request.Header("range"));
    Count(route, response.status, start);
    return response;
  }

  void Count(size_t route, int status, std::chrono::steady_clock::time_point start) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ApiContext& c = *context;
    RouteMetrics& m = metrics[route];
    const char* label = route < std::size(kRoutes) ? kRoutes[route].pattern : "unmatched";
    const char* method = route < std::size(kRoutes) ? kRoutes[route].method : "*";
    const size_t slot = static_cast<size_t>(std::clamp(status, 0, 599));
    prometheus::Counter* counter = m.by_status[slot].load(std::memory_order_acquire);
    if (counter == nullptr) {
      // Two threads may both get here: Add returns the same counter for the same labels.
      counter = &c.requests->Add(
          {{"method", method}, {"route", label}, {"status", std::to_string(status)}});
      m.by_status[slot].store(counter, std::memory_order_release);
      if (route < std::size(kRoutes) && documented[route].count(status) == 0) {
        // A bug: the API document and the code disagree. Tests fail on this counter.
        spdlog::error("{} {} answered {}, which docs/openapi.json does not list", method, label,
                      status);
      }
    }
    counter->Increment();
    if (route < std::size(kRoutes) && documented[route].count(status) == 0) {
      c.undocumented
          ->Add({{"method", method}, {"route", label}, {"status", std::to_string(status)}})
          .Increment();
    }
    prometheus::Histogram* latency = m.latency.load(std::memory_order_acquire);
    if (latency == nullptr) {
      latency = &c.latency->Add({{"route", label}},
                                prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.002, 0.005,
                                                                        0.01, 0.05, 0.25, 1});
      m.latency.store(latency, std::memory_order_release);
    }
    latency->Observe(seconds);
  }

  // Credentials first (so that a stranger cannot drain a key's budget), then the rate limit.
  HttpResponse Guarded(const Route& route, const HttpRequest& request, const Params& params) {
    ApiContext& c = *context;
    std::string client = request.client;
    if (!route.open && c.credentials.required()) {
      auto key = c.credentials.Check(request);
      if (!key) {
        HttpResponse r = ErrorReply(Unauthenticated(
            "this route needs the shared secret: X-Internal-Secret or Authorization: Bearer"));
        r.headers["WWW-Authenticate"] = "Bearer";
        return r;
      }
      client = "key:" + *key;
    }
    if (request.body_too_large) {
      return ErrorReply(
          TooLarge(fmt::format("the body is larger than {} bytes", request.body_limit))
              .WithReason("body_too_large"));
    }
    if (!route.open) {
      const double wait = c.limiter.Take(client);
      if (wait > 0) {
        HttpResponse r =
            ErrorReply(ResourceExhausted(fmt::format("too many requests; retry in {:.2f} s", wait))
                           .WithReason("rate_limited"));
        r.headers["Retry-After"] = std::to_string(static_cast<int>(std::ceil(wait)));
        return r;
      }
    }
    return route.handler(c, request, params);
  }
};

Result<std::unique_ptr<ApiServer>> ApiServer::Start(service::Engine& engine) {
  const Config& config = engine.config();
  auto credentials =
      Credentials::Load(config.Text("auth.secret"), config.Text("auth.api_keys_file"));
  if (!credentials.ok()) return credentials.status();
  auto impl = std::make_unique<Impl>();
  impl->context = std::make_unique<ApiContext>(engine, std::move(*credentials));
  impl->documented = DocumentedStatuses();
  HttpOptions http;
  http.binds = config.List("server.bind");
  http.port = static_cast<int>(config.Int("server.port"));
  http.threads = engine.budget().http_threads;
  http.executor_threads = engine.budget().background_threads;
  http.max_body_bytes = static_cast<size_t>(config.Int("server.max_body"));
  http.max_upload_bytes = static_cast<uint64_t>(config.Int("server.max_upload"));
  Impl* raw = impl.get();
  auto policy = [max_upload = http.max_upload_bytes](const std::string& method,
                                                     const std::string& path) {
    BodyPolicy p;
    for (const auto& r : kRoutes) {
      if (r.upload && MethodFits(method, r.method) && Match(r.pattern, path, nullptr)) {
        p.upload = true;
        p.max_bytes = max_upload;
      }
    }
    return p;
  };
  auto server = HttpServer::Start(
      http, [raw](const HttpRequest& r) { return raw->Handle(r); }, policy);
  if (!server.ok()) return server.status();
  impl->http = std::move(server).value();
  return std::unique_ptr<ApiServer>(new ApiServer(std::move(impl)));
}

ApiServer::ApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ApiServer::~ApiServer() { Stop(); }
int ApiServer::port() const { return impl_->http->port(); }
std::vector<std::string> ApiServer::urls() const { return impl_->http->urls(); }
void ApiServer::Stop() {
  if (impl_->http) impl_->http->Stop();
}

}  // namespace timbre::server
