// The API's front door: routing, access control, rate limits, metrics, and the shared
// helpers of api_context.h.
#include <prometheus/text_serializer.h>

#include <charconv>
#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "api_context.h"

namespace timbre::server {
namespace {

using Handler = HttpResponse (*)(ApiContext&, const HttpRequest&, const Params&);

struct Route {
  const char* method;
  const char* pattern;  // "/v1/tracks/{id}/similar"
  Handler handler;
  bool open = false;  // served without credentials
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
    {"POST", "/v1/jobs", &SubmitJob},
    {"GET", "/v1/jobs", &ListJobs},
    {"GET", "/v1/jobs/{id}", &GetJob},
    {"DELETE", "/v1/jobs/{id}", &CancelJob},
    {"GET", "/v1/tracks", &ListTracks},
    {"GET", "/v1/tracks/{id}", &GetTrack},
    {"GET", "/v1/tracks/{id}/similar", &SimilarTracks},
    {"GET", "/v1/tracks/{id}/notes", &TrackNotes},
    {"POST", "/v1/mix", &Mix},
    {"GET", "/v1/path", &Path},
};

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < path.size()) {
    if (path[start] == '/') {
      ++start;
      continue;
    }
    const size_t end = std::min(path.find('/', start), path.size());
    out.push_back(path.substr(start, end - start));
    start = end;
  }
  return out;
}

bool Match(std::string_view pattern, std::string_view path, Params& params) {
  const auto want = Segments(pattern);
  const auto have = Segments(path);
  if (want.size() != have.size()) return false;
  Params found;
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i].size() > 2 && want[i].front() == '{' && want[i].back() == '}') {
      found[std::string(want[i].substr(1, want[i].size() - 2))] = std::string(have[i]);
    } else if (want[i] != have[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

}  // namespace

HttpResponse JsonResponse(int status, const Json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

HttpResponse ErrorResponse(int status, const std::string& code, const std::string& message) {
  return JsonResponse(status, {{"code", code}, {"message", message}});
}

HttpResponse StatusResponse(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
      return ErrorResponse(400, std::string(s.reason()), s.message());
    case StatusCode::kNotFound:
      return ErrorResponse(404, "not_found", s.message());
    case StatusCode::kUnsupported:
      return ErrorResponse(422, std::string(s.reason()), s.message());
    default:
      return ErrorResponse(500, std::string(s.reason()), s.message());
  }
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

Result<std::string> ConfinedPath(const ApiContext& context, const std::string& path) {
  if (context.roots.empty()) {
    return InvalidArgument(
               "file paths are refused: the server has no library roots "
               "(timbre serve --library DIR)")
        .WithReason("no_library_roots");
  }
  std::error_code ec;
  const auto resolved = std::filesystem::weakly_canonical(path, ec);
  if (ec || !std::filesystem::path(path).is_absolute()) {
    return InvalidArgument(fmt::format("'{}' is not an absolute path", path))
        .WithReason("bad_path");
  }
  for (const auto& root : context.roots) {
    auto rel = resolved.lexically_relative(root);
    if (!rel.empty() && *rel.begin() != "..") return resolved.string();
  }
  return InvalidArgument(fmt::format("'{}' is outside the library roots", path))
      .WithReason("outside_library");
}

Result<std::shared_ptr<const index::SpaceIndex>> IndexCache::Get(store::Store& store,
                                                                 const std::string& space) {
  const auto now = std::chrono::steady_clock::now();
  std::shared_ptr<const index::SpaceIndex> current;
  int64_t current_change = -1;
  bool graph_due = false;
  {
    std::unique_lock lock(mu_);
    Entry& e = entries_[space];
    opened_.wait(lock, [&e] { return e.index || !e.refreshing; });
    const bool fresh = e.index && now - e.checked < std::chrono::seconds(1);
    if (fresh || (e.index && e.refreshing)) return e.index;
    e.checked = now;
    e.refreshing = true;
    current = e.index;
    current_change = e.last_change;
    graph_due = e.graph_built == std::chrono::steady_clock::time_point{} ||
                now - e.graph_built >= std::chrono::minutes(1);
  }
  // An exact index large enough to want the graph, once the graph may be rebuilt.
  auto wants_graph = [&](const index::SpaceIndex& i) {
    return graph_due && i.vectors().kind() == index::IndexKind::kFlat &&
           i.vectors().size() >= hnsw_from_;
  };
  // Outside the lock: opening and rebuilding may take a while on a large library.
  std::shared_ptr<const index::SpaceIndex> opened;
  int64_t change = -1;
  bool graph = false;
  const Status status = [&]() -> Status {
    auto last = store.LastChange();
    if (!last.ok()) return last.status();
    change = *last;
    if (current && change == current_change && !wants_graph(*current)) {
      opened = current;
      return Status::Ok();
    }
    auto index = index::SpaceIndex::Open(store, space, index::SyncMode::kReadOnly);
    if (!index.ok()) return index.status();
    graph = wants_graph(**index);
    opened = graph ? (*index)->Rebuilt(index::IndexKind::kHnsw, {})
                   : std::shared_ptr<const index::SpaceIndex>(std::move(index).value());
    return Status::Ok();
  }();
  std::lock_guard lock(mu_);
  Entry& e = entries_[space];
  e.refreshing = false;
  opened_.notify_all();
  if (!status.ok()) return status;
  e.index = opened;
  e.last_change = change;
  if (graph) e.graph_built = now;
  return opened;
}

Result<std::vector<store::TrackSummary>> SummaryCache::Get(store::Store& store,
                                                           const std::vector<int64_t>& ids) {
  const auto now = std::chrono::steady_clock::now();
  bool check = false;
  uint64_t generation = 0;
  {
    std::shared_lock lock(mu_);
    generation = generation_;
    check = now - checked_ >= std::chrono::seconds(1);
    if (!check) {
      std::vector<store::TrackSummary> out;
      out.reserve(ids.size());
      for (int64_t id : ids) {
        auto it = known_.find(id);
        if (it == known_.end()) break;
        out.push_back(it->second);
      }
      if (out.size() == ids.size()) return out;
    }
  }
  if (check) {
    auto change = store.LastChange();
    if (!change.ok()) return change.status();
    std::unique_lock lock(mu_);
    checked_ = now;
    if (*change != last_change_) {
      known_.clear();
      last_change_ = *change;
      ++generation_;
    }
    generation = generation_;
  }
  // Misses (and every id after a change) come from the store; ids it does not know are left
  // out, as Summaries() does, and not cached.
  auto found = store.Summaries(ids);
  if (!found.ok()) return found.status();
  std::unique_lock lock(mu_);
  // Rows read before a change that another request has seen since are not kept.
  if (generation == generation_) {
    for (const auto& t : *found) known_.insert_or_assign(t.id, t);
  }
  return found;
}

ApiContext::ApiContext(store::Store& s, jobs::JobRunner& r, ServerOptions o, Credentials c)
    : store(s),
      runner(r),
      options(std::move(o)),
      credentials(std::move(c)),
      limiter(options.rate_per_second, options.rate_burst),
      started(std::chrono::steady_clock::now()),
      registry(std::make_shared<prometheus::Registry>()) {
  for (const auto& root : options.library_roots) {
    std::error_code ec;
    roots.push_back(std::filesystem::weakly_canonical(root, ec));
  }
  requests = &prometheus::BuildCounter()
                  .Name("timbre_http_requests_total")
                  .Help("HTTP requests by route and status")
                  .Register(*registry);
  latency = &prometheus::BuildHistogram()
                 .Name("timbre_http_request_seconds")
                 .Help("time to answer, by route")
                 .Register(*registry);
}

HttpResponse Metrics(ApiContext& c, const HttpRequest&, const Params&) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, c.registry->Collect());
  // Queue and runner figures are read when asked, not kept up to date.
  auto counts = c.store.CountJobs();
  if (counts.ok()) {
    out << "# HELP timbre_jobs Jobs in the queue by state\n# TYPE timbre_jobs gauge\n";
    out << "timbre_jobs{state=\"pending\"} " << counts->pending << "\n";
    out << "timbre_jobs{state=\"processing\"} " << counts->processing << "\n";
    out << "timbre_jobs{state=\"completed\"} " << counts->completed << "\n";
    out << "timbre_jobs{state=\"failed\"} " << counts->failed << "\n";
    out << "timbre_jobs{state=\"cancelled\"} " << counts->cancelled << "\n";
  }
  out << "# HELP timbre_jobs_active Jobs running in this process\n# TYPE timbre_jobs_active gauge\n"
      << "timbre_jobs_active " << c.runner.active() << "\n"
      << "# HELP timbre_jobs_completed_total Jobs this process completed\n"
      << "# TYPE timbre_jobs_completed_total counter\n"
      << "timbre_jobs_completed_total " << c.runner.completed() << "\n"
      << "# HELP timbre_job_attempts_failed_total Attempts that failed in this process\n"
      << "# TYPE timbre_job_attempts_failed_total counter\n"
      << "timbre_job_attempts_failed_total " << c.runner.failed_attempts() << "\n";
  HttpResponse r;
  r.body = out.str();
  r.content_type = "text/plain; version=0.0.4";
  return r;
}

struct ApiServer::Impl {
  std::unique_ptr<ApiContext> context;
  std::unique_ptr<HttpServer> http;

  HttpResponse Handle(const HttpRequest& request) {
    const auto start = std::chrono::steady_clock::now();
    const Route* route = nullptr;
    Params params;
    bool path_known = false;
    std::string allowed;
    for (const auto& r : kRoutes) {
      Params p;
      if (!Match(r.pattern, request.path, p)) continue;
      path_known = true;
      allowed += (allowed.empty() ? "" : ", ") + std::string(r.method);
      if (request.method == r.method) {
        route = &r;
        params = std::move(p);
        break;
      }
    }
    HttpResponse response;
    if (route == nullptr) {
      response = path_known
                     ? ErrorResponse(405, "method_not_allowed",
                                     fmt::format("{} {} is not served; use {}", request.method,
                                                 request.path, allowed))
                     : ErrorResponse(404, "no_route", fmt::format("no route {}", request.path));
      if (path_known) response.headers["Allow"] = allowed;
    } else {
      response = Guarded(*route, request, params);
    }
    const std::string label = route ? route->pattern : "unmatched";
    ApiContext& c = *context;
    c.requests->Add({{"route", label}, {"status", std::to_string(response.status)}}).Increment();
    c.latency
        ->Add({{"route", label}},
              prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.25,
                                                      1})
        .Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return response;
  }

  // Credentials first (so that a stranger cannot drain a key's budget), then the rate limit.
  HttpResponse Guarded(const Route& route, const HttpRequest& request, const Params& params) {
    ApiContext& c = *context;
    std::string client = request.client;
    if (!route.open && c.credentials.required()) {
      auto key = c.credentials.Check(request);
      if (!key) {
        HttpResponse r = ErrorResponse(
            401, "unauthorized",
            "this route needs the shared secret: X-Internal-Secret or Authorization: Bearer");
        r.headers["WWW-Authenticate"] = "Bearer";
        return r;
      }
      client = "key:" + *key;
    }
    if (!route.open) {
      const double wait = c.limiter.Take(client);
      if (wait > 0) {
        HttpResponse r = ErrorResponse(429, "rate_limited",
                                       fmt::format("too many requests; retry in {:.2f} s", wait));
        r.headers["Retry-After"] = std::to_string(static_cast<int>(std::ceil(wait)));
        return r;
      }
    }
    return route.handler(c, request, params);
  }
};

Result<std::unique_ptr<ApiServer>> ApiServer::Start(store::Store& store, jobs::JobRunner& runner,
                                                    const ServerOptions& options) {
  auto credentials = Credentials::Load(options.secret, options.api_keys_file);
  if (!credentials.ok()) return credentials.status();
  auto impl = std::make_unique<Impl>();
  impl->context = std::make_unique<ApiContext>(store, runner, options, std::move(*credentials));
  Impl* raw = impl.get();
  auto http = HttpServer::Start(
      options.http, [raw](const HttpRequest& r) { return raw->Handle(r); },
      ErrorResponse(413, "body_too_large",
                    fmt::format("the body is larger than {} bytes", options.http.max_body_bytes)));
  if (!http.ok()) return http.status();
  impl->http = std::move(http).value();
  return std::unique_ptr<ApiServer>(new ApiServer(std::move(impl)));
}

ApiServer::ApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ApiServer::~ApiServer() { Stop(); }
int ApiServer::port() const { return impl_->http->port(); }
void ApiServer::Stop() {
  if (impl_->http) impl_->http->Stop();
}

}  // namespace timbre::server
