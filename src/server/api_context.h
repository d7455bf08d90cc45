// What the API's handlers share: the store, the job runner, access control, the index
// cache and metrics, plus the helpers every handler uses to read requests and answer.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "timbre/index/space_index.h"
#include "timbre/server/access.h"
#include "timbre/server/server.h"

namespace timbre::server {

using Json = nlohmann::json;
using Params = std::map<std::string, std::string>;  // {id} and the like, from the path

// Read-only similarity indexes, reopened when the store has changed since (checked at most
// once a second), so that scans by jobs show up without a restart. From `hnsw_from` vectors
// on, an exact index is rebuilt as HNSW in memory: a search over 10k timbre-v1 vectors
// costs ~0.07 ms exact and ~0.02 ms through the graph, at recall@10 above 0.99.
// While one request refreshes an index, the others keep using the previous one. The graph
// is rebuilt at most once a minute: while a scan keeps changing the library, the refreshes
// in between serve the exact index instead of rebuilding the graph every second. Requests
// that find no index yet wait for the one request opening it rather than open their own.
class IndexCache {
 public:
  explicit IndexCache(size_t hnsw_from = 5000) : hnsw_from_(hnsw_from) {}
  Result<std::shared_ptr<const index::SpaceIndex>> Get(store::Store& store,
                                                       const std::string& space);

 private:
  struct Entry {
    std::shared_ptr<const index::SpaceIndex> index;
    int64_t last_change = -1;
    std::chrono::steady_clock::time_point checked;
    bool refreshing = false;
    std::chrono::steady_clock::time_point graph_built{};
  };
  size_t hnsw_from_;
  std::mutex mu_;
  std::condition_variable opened_;  // the first open of a space, which the others wait for
  std::map<std::string, Entry> entries_;
};

// Track summaries (title, artist, bpm, key, …) that playlists return, kept in memory with
// their JSON text and dropped whenever the store has changed (checked at most once a second,
// like the index): a similar request then reads no row from the store and builds no JSON
// object per track, which cost more than the search itself. Entries are shared, not copied:
// a request holds the ones it writes while a change may clear the cache.
class SummaryCache {
 public:
  struct Entry {
    std::string open_json;  // store::SummaryJson's text without its closing brace
    store::TrackSummary summary;
  };
  using EntryPtr = std::shared_ptr<const Entry>;

  // One entry per id, in the order asked; null where the store has no such track.
  Result<std::vector<EntryPtr>> Get(store::Store& store, const std::vector<int64_t>& ids);

 private:
  // The cache's generation, after dropping every entry if the store changed since the last
  // look (taken at most once a second).
  Result<uint64_t> Refresh(store::Store& store);

  std::shared_mutex mu_;
  std::unordered_map<int64_t, EntryPtr> known_;
  int64_t last_change_ = -1;
  uint64_t generation_ = 0;  // bumped when the store's change moves
  std::chrono::steady_clock::time_point checked_;
};

struct ApiContext {
  ApiContext(store::Store& s, jobs::JobRunner& r, ServerOptions o, Credentials c);

  store::Store& store;
  jobs::JobRunner& runner;
  ServerOptions options;
  std::vector<std::filesystem::path> roots;  // canonical library roots
  Credentials credentials;
  RateLimiter limiter;
  IndexCache indexes;
  SummaryCache summaries;
  std::chrono::steady_clock::time_point started;

  std::shared_ptr<prometheus::Registry> registry;
  prometheus::Family<prometheus::Counter>* requests = nullptr;
  prometheus::Family<prometheus::Histogram>* latency = nullptr;
};

HttpResponse JsonResponse(int status, const Json& body);
// A body already written as JSON text.
HttpResponse JsonTextResponse(int status, std::string body);
// {code, message} with the status that fits.
HttpResponse ErrorResponse(int status, const std::string& code, const std::string& message);
HttpResponse StatusResponse(const Status& status);

// The body as a JSON object, or a 400 naming what is wrong.
Result<Json> ParseObject(const HttpRequest& request);
// An integer query parameter within [lo, hi]; `fallback` when absent.
Result<int64_t> QueryInt(const HttpRequest& request, const std::string& name, int64_t fallback,
                         int64_t lo, int64_t hi);
bool QueryFlag(const HttpRequest& request, const std::string& name);

// A file path from a request, resolved and confined to the library roots.
Result<std::string> ConfinedPath(const ApiContext& context, const std::string& path);

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

HttpResponse ListTracks(ApiContext& c, const HttpRequest& r, const Params& p);
HttpResponse GetTrack(ApiContext& c, const HttpRequest& r, const Params& p);
HttpResponse SimilarTracks(ApiContext& c, const HttpRequest& r, const Params& p);
HttpResponse TrackNotes(ApiContext& c, const HttpRequest& r, const Params& p);
HttpResponse Mix(ApiContext& c, const HttpRequest& r, const Params& p);
HttpResponse Path(ApiContext& c, const HttpRequest& r, const Params& p);

}  // namespace timbre::server
