#include "timbre/service/similarity.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "timbre/index/playlists.h"
#include "timbre/index/timbre_v1.h"
#include "timbre/service/engine.h"
#include "timbre/store/filter.h"

namespace timbre::service {
namespace {

Result<store::TrackFilter> Filter(const std::string& where) {
  auto filter = store::ParseFilter(where);
  if (!filter.ok()) return InvalidArgument(fmt::format("where: {}", filter.status().message()));
  return filter;
}

// The space's index, or why a query cannot run on it now.
Result<IndexCache::IndexPtr> SpaceFor(Engine& engine, const std::string& space, IndexWait wait) {
  if (space.empty()) return InvalidArgument("no embedding space named");
  auto found =
      wait == IndexWait::kWait ? engine.indexes().Get(space) : engine.indexes().Current(space);
  if (!found.ok()) return found.status();
  if (*found == nullptr) {
    return Unavailable(fmt::format("the {} index is being opened", space))
        .WithReason("index_not_ready");
  }
  if ((*found)->vectors().size() == 0) {
    if (space == index::kTimbreV1Space) {
      return NotFound(
          fmt::format("the {} space is empty: scan a library first (timbre scan DIR, or a scan "
                      "job; timbre index for a library scanned by an older timbre)",
                      space));
    }
    std::string known;
    auto spaces = engine.store().EmbeddingSpaces();
    if (spaces.ok()) {
      for (const auto& s : *spaces) known += (known.empty() ? "" : ", ") + s;
    }
    return NotFound(fmt::format(
        "the embedding space '{}' is empty: no track has a vector in it (spaces with vectors: {})",
        space, known.empty() ? "none" : known));
  }
  return found;
}

index::SummaryLookup CachedSummaries(Engine& engine) {
  return [&engine](const std::vector<int64_t>& ids) -> Result<std::vector<store::TrackSummary>> {
    auto found = engine.summaries().Get(ids);
    if (!found.ok()) return found.status();
    std::vector<store::TrackSummary> out;
    out.reserve(found->size());
    for (const auto& entry : *found) {
      if (entry != nullptr) out.push_back(entry->summary);
    }
    return out;
  };
}

// The playlist with the cache's shared entries; tracks the store dropped are left out.
Result<Playlist> ToPlaylist(Engine& engine, const std::string& space,
                            const std::vector<index::PlaylistEntry>& entries) {
  std::vector<int64_t> ids;
  ids.reserve(entries.size());
  for (const auto& e : entries) ids.push_back(e.track.id);
  auto tracks = engine.summaries().Get(ids);
  if (!tracks.ok()) return tracks.status();
  Playlist playlist;
  playlist.space = space;
  playlist.items.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    if ((*tracks)[i] == nullptr) continue;
    playlist.items.push_back({std::move((*tracks)[i]), entries[i].distance, entries[i].seed});
  }
  return playlist;
}

}  // namespace

double Playlist::duration() const {
  double total = 0.0;
  for (const auto& item : items) total += item.track->summary.duration;
  return total;
}

Result<Playlist> Similar(Engine& engine, const SimilarQuery& query, IndexWait wait) {
  if (query.count == 0) return InvalidArgument("the count must be at least 1");
  auto filter = Filter(query.where);
  if (!filter.ok()) return filter.status();
  auto space = SpaceFor(engine, query.space, wait);
  if (!space.ok()) return space.status();
  index::SimilarRequest request;
  request.seed = query.seed;
  request.count = query.count;
  request.filter = std::move(*filter);
  request.exclude_same_artist = query.exclude_same_artist;
  request.exclude_same_album = query.exclude_same_album;
  auto entries =
      index::SimilarNeighbours(engine.store(), **space, request, CachedSummaries(engine));
  if (!entries.ok()) return entries.status();
  return ToPlaylist(engine, query.space, *entries);
}

Result<Playlist> Mix(Engine& engine, const MixQuery& query, IndexWait wait) {
  if (query.seeds.empty()) return InvalidArgument("a mix needs at least one seed track");
  auto filter = Filter(query.where);
  if (!filter.ok()) return filter.status();
  auto space = SpaceFor(engine, query.space, wait);
  if (!space.ok()) return space.status();
  index::MixRequest request;
  request.seeds = query.seeds;
  request.count = query.count;
  request.max_duration = query.max_duration;
  request.artist_window = query.artist_window;
  request.filter = std::move(*filter);
  auto entries = index::MixTracks(engine.store(), **space, request, CachedSummaries(engine));
  if (!entries.ok()) return entries.status();
  return ToPlaylist(engine, query.space, *entries);
}

Result<Playlist> Path(Engine& engine, const PathQuery& query, IndexWait wait) {
  auto filter = Filter(query.where);
  if (!filter.ok()) return filter.status();
  auto space = SpaceFor(engine, query.space, wait);
  if (!space.ok()) return space.status();
  index::PathRequest request;
  request.from = query.from;
  request.to = query.to;
  request.steps = query.steps;
  request.filter = std::move(*filter);
  auto entries = index::PathTracks(engine.store(), **space, request, CachedSummaries(engine));
  if (!entries.ok()) return entries.status();
  return ToPlaylist(engine, query.space, *entries);
}

Result<std::vector<std::string>> Spaces(Engine& engine) {
  auto spaces = engine.store().EmbeddingSpaces();
  if (!spaces.ok()) return spaces.status();
  if (std::find(spaces->begin(), spaces->end(), index::kTimbreV1Space) == spaces->end()) {
    spaces->insert(spaces->begin(), index::kTimbreV1Space);
  }
  return spaces;
}

Result<DuplicatesReport> FindDuplicates(Engine& engine, const index::DuplicateOptions& options) {
  auto report = index::FindDuplicates(engine.store(), options);
  if (!report.ok()) return report.status();
  std::vector<int64_t> all;
  for (const auto& g : report->groups) all.insert(all.end(), g.tracks.begin(), g.tracks.end());
  auto summaries = engine.store().Summaries(all);
  if (!summaries.ok()) return summaries.status();
  return DuplicatesReport{std::move(report).value(), std::move(summaries).value()};
}

Result<IndexSync> SyncIndex(Engine& engine, const std::string& space, bool rebuild) {
  IndexSync sync;
  sync.file = index::SpaceIndexPath(engine.store(), space).string();
  if (rebuild) {
    std::error_code ec;
    std::filesystem::remove(sync.file, ec);
  }
  auto opened = index::SpaceIndex::Open(engine.store(), space, index::SyncMode::kDeriveMissing, {},
                                        &sync.report);
  if (!opened.ok()) return opened.status();
  sync.dim = (*opened)->vectors().dim();
  sync.spec = (*opened)->spec();
  return sync;
}

}  // namespace timbre::service
