// The API's front door: routing, access control, rate limits, metrics, and the shared
// helpers of api_context.h.
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "api_context.h"
#include "timbre/store/json_views.h"

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

// A summary's JSON text without its closing brace.
std::string OpenJson(const store::TrackSummary& track) {
  std::string text = store::SummaryJson(track).dump(-1, ' ', false, Json::error_handler_t::replace);
  text.pop_back();
  return text;
}

}  // namespace

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

Result<uint64_t> SummaryCache::Refresh(store::Store& store) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::shared_lock lock(mu_);
    if (now - checked_ < std::chrono::seconds(1)) return generation_;
  }
  auto change = store.LastChange();
  if (!change.ok()) return change.status();
  std::unique_lock lock(mu_);
  checked_ = now;
  if (*change != last_change_) {
    known_.clear();
    last_change_ = *change;
    ++generation_;
  }
  return generation_;
}

Result<std::vector<SummaryCache::EntryPtr>> SummaryCache::Get(store::Store& store,
                                                              const std::vector<int64_t>& ids) {
  auto generation = Refresh(store);
  if (!generation.ok()) return generation.status();
  std::vector<EntryPtr> out(ids.size());
  std::vector<int64_t> missing;
  {
    std::shared_lock lock(mu_);
    for (size_t i = 0; i < ids.size(); ++i) {
      auto it = known_.find(ids[i]);
      if (it != known_.end()) {
        out[i] = it->second;
      } else {
        missing.push_back(ids[i]);
      }
    }
  }
  if (missing.empty()) return out;
  // Misses come from the store; ids it does not know stay null and are not cached.
  auto found = store.Summaries(missing);
  if (!found.ok()) return found.status();
  std::unordered_map<int64_t, EntryPtr> fetched;
  for (auto& t : *found) {
    std::string json = OpenJson(t);
    const int64_t id = t.id;
    fetched.emplace(id, std::make_shared<const Entry>(Entry{std::move(json), std::move(t)}));
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    if (out[i] != nullptr) continue;
    auto it = fetched.find(ids[i]);
    if (it != fetched.end()) out[i] = it->second;
  }
  std::unique_lock lock(mu_);
  // Rows read before a change that another request has seen since are not kept.
  if (*generation == generation_) {
    for (auto& [id, entry] : fetched) known_.insert_or_assign(id, std::move(entry));
  }
  return out;
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

  HttpResponse Handle(const HttpRequest& request) {
    const auto start = std::chrono::steady_clock::now();
    size_t route = std::size(kRoutes);
    Params params;
    bool path_known = false;
    std::string allowed;
    for (size_t i = 0; i < std::size(kRoutes); ++i) {
      const Route& r = kRoutes[i];
      const bool method = request.method == r.method;
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
      response = path_known
                     ? ErrorResponse(405, "method_not_allowed",
                                     fmt::format("{} {} is not served; use {}", request.method,
                                                 request.path, allowed))
                     : ErrorResponse(404, "no_route", fmt::format("no route {}", request.path));
      if (path_known) response.headers["Allow"] = allowed;
    } else {
      response = Guarded(kRoutes[route], request, params);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    Count(route, response.status, seconds);
    return response;
  }

  void Count(size_t route, int status, double seconds) {
    ApiContext& c = *context;
    RouteMetrics& m = metrics[route];
    const char* label = route < std::size(kRoutes) ? kRoutes[route].pattern : "unmatched";
    const size_t slot = static_cast<size_t>(std::clamp(status, 0, 599));
    prometheus::Counter* counter = m.by_status[slot].load(std::memory_order_acquire);
    if (counter == nullptr) {
      // Two threads may both get here: Add returns the same counter for the same labels.
      counter = &c.requests->Add({{"route", label}, {"status", std::to_string(status)}});
      m.by_status[slot].store(counter, std::memory_order_release);
    }
    counter->Increment();
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
