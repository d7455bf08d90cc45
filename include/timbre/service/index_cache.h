// What a process keeps in memory between queries: each embedding space's index, and the track
// summaries that playlists return.
//
// IndexCache: read-only indexes, opened once and reopened when the store has changed (looked at
// most once per `check_every`, by the engine's clock), so scans by jobs or other processes show
// up without a restart. Opening and rebuilding run on the background pool, never on the
// caller's thread: Current() answers at once with the index as it is (null while the first
// open runs), and Get() waits for one. While a refresh runs, callers keep the previous index.
// From `graph_from` vectors on, an exact index is rebuilt as an HNSW graph in memory (a search
// over 10k timbre-v1 vectors costs ~0.07 ms exact, ~0.02 ms through the graph, recall@10
// above 0.99); the graph is rebuilt at most once per `graph_every`, so while a scan keeps
// changing the library the refreshes in between serve the exact index.
//
// SummaryCache: summaries (title, artist, bpm, key, …) with their JSON text, dropped whenever
// the store has changed (looked at most once per `check_every`): a similar request then reads
// no row and builds no JSON object per track, which cost more than the search itself. Entries
// are shared, not copied: a request holds the ones it writes while a change may clear the
// cache.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "timbre/core/clock.h"
#include "timbre/core/status.h"
#include "timbre/core/thread_pool.h"
#include "timbre/index/space_index.h"
#include "timbre/store/store.h"

namespace timbre::service {

struct IndexCacheOptions {
  size_t graph_from = 5000;  // SIZE_MAX: never build a graph
  Clock::Duration check_every = std::chrono::seconds(1);
  Clock::Duration graph_every = std::chrono::minutes(1);
};

class IndexCache {
 public:
  using IndexPtr = std::shared_ptr<const index::SpaceIndex>;

  // The store, clock and pool must outlive the cache.
  IndexCache(store::Store& store, const Clock& clock, ThreadPool& background,
             IndexCacheOptions options);
  ~IndexCache();

  // The space's index now, without waiting: null while its first open runs (one is started
  // if none is). Starts a refresh when the store changed since the index was read. An error
  // is the last open's failure (a space that cannot be opened).
  Result<IndexPtr> Current(const std::string& space);
  // The space's index, waiting for the open or refresh in progress if there is no index yet.
  Result<IndexPtr> Get(const std::string& space);

  // Test hook: runs before each open or rebuild, on the background thread.
  void SetBeforeRefresh(std::function<void(const std::string& space)> hook);

 private:
  struct Entry {
    IndexPtr index;
    Status error;  // the last refresh's, when it failed and left no index
    int64_t last_change = -1;
    Clock::TimePoint checked{};
    bool ever_checked = false;
    bool refreshing = false;
    bool graph_built = false;
    Clock::TimePoint graph_built_at{};
  };
  // Opens (or reopens) the space's index on the background pool; `current` is the index
  // being served (null for a first open), `graph_allowed` whether a graph may be built now.
  void Refresh(const std::string& space, IndexPtr current, int64_t current_change,
               bool graph_allowed);

  store::Store& store_;
  const Clock& clock_;
  ThreadPool& background_;
  IndexCacheOptions options_;
  std::mutex mu_;
  std::condition_variable refreshed_;
  std::map<std::string, Entry> entries_;
  int pending_ = 0;  // refreshes queued or running; the destructor waits for them
  std::function<void(const std::string&)> before_refresh_;
};

class SummaryCache {
 public:
  struct Entry {
    std::string open_json;  // store::SummaryJson's text without its closing brace
    store::TrackSummary summary;
  };
  using EntryPtr = std::shared_ptr<const Entry>;

  SummaryCache(store::Store& store, const Clock& clock,
               Clock::Duration check_every = std::chrono::seconds(1));

  // One entry per id, in the order asked; null where the store has no such track.
  Result<std::vector<EntryPtr>> Get(const std::vector<int64_t>& ids);

 private:
  // The cache's generation, after dropping every entry if the store changed since the last
  // look (taken at most once per check_every).
  Result<uint64_t> Refresh();

  store::Store& store_;
  const Clock& clock_;
  Clock::Duration check_every_;
  std::shared_mutex mu_;
  std::unordered_map<int64_t, EntryPtr> known_;
  int64_t last_change_ = -1;
  uint64_t generation_ = 0;  // bumped when the store's change moves
  bool ever_checked_ = false;
  Clock::TimePoint checked_{};
};

}  // namespace timbre::service
