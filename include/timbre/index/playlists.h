// Playlists from an embedding space: the neighbours of one track, a mix seeded by several,
// and a path that moves from one track to another in even steps. Filters select the
// candidates before the search (never after), so N results come back whenever N match.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "timbre/core/status.h"
#include "timbre/index/space_index.h"
#include "timbre/store/filter.h"
#include "timbre/store/store.h"

namespace timbre::index {

struct PlaylistEntry {
  store::TrackSummary track;
  float distance = 0.0f;  // to the seed (similar, mix) or to the path's waypoint
  int64_t seed = 0;       // the seed it came from (mix), else the request's seed
};

struct SimilarRequest {
  int64_t seed = 0;
  size_t count = 10;
  store::TrackFilter filter;
  bool exclude_same_artist = false;
  bool exclude_same_album = false;
};

struct MixRequest {
  std::vector<int64_t> seeds;
  size_t count = 20;
  double max_duration = 0.0;  // seconds; 0 = no limit
  store::TrackFilter filter;
  size_t artist_window = 3;  // no artist twice within this many consecutive tracks
};

struct PathRequest {
  int64_t from = 0;
  int64_t to = 0;
  size_t steps = 5;  // tracks between the two ends
  store::TrackFilter filter;
};

// Where playlists read track summaries (ids that do not exist are left out): the store's
// Summaries() unless given, e.g. a server's cache of them.
using SummaryLookup =
    std::function<Result<std::vector<store::TrackSummary>>(const std::vector<int64_t>&)>;

Result<std::vector<PlaylistEntry>> SimilarTracks(store::Store& store, const SpaceIndex& space,
                                                 const SimilarRequest& request,
                                                 const SummaryLookup& summaries = {});
// The same neighbours with only `track.id` filled in, for callers that show tracks their own
// way (the server writes cached JSON). Ids may include tracks the store has dropped since the
// index was read; `summaries` is read only for the seed's artist or album exclusion.
Result<std::vector<PlaylistEntry>> SimilarNeighbours(store::Store& store, const SpaceIndex& space,
                                                     const SimilarRequest& request,
                                                     const SummaryLookup& summaries = {});
Result<std::vector<PlaylistEntry>> MixTracks(store::Store& store, const SpaceIndex& space,
                                             const MixRequest& request,
                                             const SummaryLookup& summaries = {});
// The playlist runs from `from` to `to`, both included.
Result<std::vector<PlaylistEntry>> PathTracks(store::Store& store, const SpaceIndex& space,
                                              const PathRequest& request,
                                              const SummaryLookup& summaries = {});

}  // namespace timbre::index
