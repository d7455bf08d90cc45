// Queries over embedding spaces: similar tracks, mixes, paths, duplicates, and bringing a
// space's index up to date. Every space the store holds can be queried, by the CLI and the API
// alike. Indexes come from the engine's index cache.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "timbre/core/status.h"
#include "timbre/index/duplicates.h"
#include "timbre/index/space_index.h"
#include "timbre/service/index_cache.h"

namespace timbre::service {

class Engine;

// Whether a query may wait for an index that is still being opened. A server's connection
// threads ask with kNoWait and hand the query to an executor when told Unavailable with
// reason "index_not_ready"; a command waits.
enum class IndexWait { kWait, kNoWait };

struct PlaylistItem {
  SummaryCache::EntryPtr track;
  float distance = 0.0f;  // to the seed (similar, mix) or to the path's waypoint
  int64_t seed = 0;       // the seed it came from (mix), else the request's seed
};

struct Playlist {
  std::string space;
  std::vector<PlaylistItem> items;  // tracks the store no longer has are left out
  double duration() const;
};

struct SimilarQuery {
  int64_t seed = 0;
  size_t count = 10;
  std::string where;  // filter syntax (store/filter.h)
  std::string space = "timbre-v1";
  bool exclude_same_artist = false;
  bool exclude_same_album = false;
};

struct MixQuery {
  std::vector<int64_t> seeds;
  size_t count = 20;
  double max_duration = 0.0;  // seconds; 0 = no limit
  size_t artist_window = 3;
  std::string where;
  std::string space = "timbre-v1";
};

struct PathQuery {
  int64_t from = 0;
  int64_t to = 0;
  size_t steps = 5;
  std::string where;
  std::string space = "timbre-v1";
};

Result<Playlist> Similar(Engine& engine, const SimilarQuery& query,
                         IndexWait wait = IndexWait::kWait);
Result<Playlist> Mix(Engine& engine, const MixQuery& query, IndexWait wait = IndexWait::kWait);
Result<Playlist> Path(Engine& engine, const PathQuery& query, IndexWait wait = IndexWait::kWait);

// The spaces the store holds vectors of (timbre-v1 always among them).
Result<std::vector<std::string>> Spaces(Engine& engine);

struct DuplicatesReport {
  index::DuplicateReport report;
  std::vector<store::TrackSummary> tracks;  // of every group's members
};
Result<DuplicatesReport> FindDuplicates(Engine& engine, const index::DuplicateOptions& options);

// `timbre index`: brings the space's saved index up to date (from scratch with `rebuild`).
struct IndexSync {
  index::SyncReport report;
  size_t dim = 0;
  index::SpaceSpec spec;
  std::string file;
};
Result<IndexSync> SyncIndex(Engine& engine, const std::string& space, bool rebuild);

}  // namespace timbre::service
