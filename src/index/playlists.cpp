#include "timbre/index/playlists.h"

#include <algorithm>
#include <deque>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

namespace timbre::index {
namespace {

// An entry that knows only its track id until WithSummaries() fills in the rest.
PlaylistEntry Entry(int64_t id, float distance, int64_t seed) {
  PlaylistEntry e;
  e.track.id = id;
  e.distance = distance;
  e.seed = seed;
  return e;
}

SummaryLookup LookupOf(store::Store& store, const SummaryLookup& given) {
  if (given) return given;
  return [&store](const std::vector<int64_t>& ids) { return store.Summaries(ids); };
}

Result<store::TrackSummary> SummaryOf(const SummaryLookup& lookup, int64_t id) {
  auto found = lookup({id});
  if (!found.ok()) return found.status();
  if (found->empty()) return NotFound(fmt::format("no track with id {}", id));
  return found->front();
}

// The allowed candidates, or nullopt for "every track in the index".
Result<std::optional<std::vector<int64_t>>> Allowed(store::Store& store,
                                                    const store::TrackFilter& filter) {
  if (filter.empty()) return std::optional<std::vector<int64_t>>();
  auto ids = store.SelectTracks(filter);
  if (!ids.ok()) return ids.status();
  return std::optional<std::vector<int64_t>>(std::move(ids).value());
}

Status RequireIndexed(const SpaceIndex& space, int64_t track) {
  if (space.Contains(track)) return Status::Ok();
  return NotFound(fmt::format("track {} has no vector in {} (not analysed, failed, or gone)", track,
                              space.spec().name));
}

Result<std::vector<PlaylistEntry>> WithSummaries(const SummaryLookup& lookup,
                                                 std::vector<PlaylistEntry> entries) {
  std::vector<int64_t> ids;
  ids.reserve(entries.size());
  for (const auto& e : entries) ids.push_back(e.track.id);
  auto summaries = lookup(ids);
  if (!summaries.ok()) return summaries.status();
  // A cache answers in the order asked, with every track: pair them up without a map.
  const bool in_order =
      summaries->size() == entries.size() &&
      std::equal(ids.begin(), ids.end(), summaries->begin(),
                 [](int64_t id, const store::TrackSummary& s) { return s.id == id; });
  if (in_order) {
    for (size_t i = 0; i < entries.size(); ++i) entries[i].track = std::move((*summaries)[i]);
    return entries;
  }
  std::unordered_map<int64_t, store::TrackSummary> by_id;
  for (auto& s : *summaries) by_id.emplace(s.id, std::move(s));
  std::vector<PlaylistEntry> out;
  for (auto& e : entries) {
    auto it = by_id.find(e.track.id);
    if (it == by_id.end()) continue;  // removed from the store since the index was read
    e.track = it->second;
    out.push_back(std::move(e));
  }
  return out;
}

// Ranked neighbours of one mix seed, fetched in growing batches as the mix consumes them.
class NeighbourStream {
 public:
  NeighbourStream(const SpaceIndex& space, int64_t seed, const std::vector<int64_t>* allowed)
      : space_(space), seed_(seed), allowed_(allowed) {}

  // Candidates in rank order; fetches more once `consumed` reaches the end.
  Result<const std::vector<Neighbour>*> Get(size_t needed) {
    if (needed > list_.size() && !exhausted_) {
      const size_t want = std::max<size_t>(needed * 2, 32);
      auto more = space_.Similar(seed_, want, allowed_);
      if (!more.ok()) return more.status();
      exhausted_ = more->size() < want;
      list_ = std::move(more).value();
    }
    return &list_;
  }

 private:
  const SpaceIndex& space_;
  int64_t seed_;
  const std::vector<int64_t>* allowed_;
  std::vector<Neighbour> list_;
  bool exhausted_ = false;
};

}  // namespace

Result<std::vector<PlaylistEntry>> SimilarTracks(store::Store& store, const SpaceIndex& space,
                                                 const SimilarRequest& request,
                                                 const SummaryLookup& summaries) {
  auto entries = SimilarNeighbours(store, space, request, summaries);
  if (!entries.ok()) return entries.status();
  return WithSummaries(LookupOf(store, summaries), std::move(entries).value());
}

Result<std::vector<PlaylistEntry>> SimilarNeighbours(store::Store& store, const SpaceIndex& space,
                                                     const SimilarRequest& request,
                                                     const SummaryLookup& summaries) {
  TIMBRE_RETURN_IF_ERROR(RequireIndexed(space, request.seed));
  const SummaryLookup lookup = LookupOf(store, summaries);
  store::TrackFilter filter = request.filter;
  // The seed's own summary only matters when its artist or album is excluded; unknown
  // artists or albums are not one artist or album, so nothing is excluded for them.
  if (request.exclude_same_artist || request.exclude_same_album) {
    auto seed = SummaryOf(lookup, request.seed);
    if (!seed.ok()) return seed.status();
    if (request.exclude_same_artist && !seed->artist.empty()) {
      filter.conditions.push_back(
          store::ColumnCondition("artist", store::FilterOp::kNe, seed->artist));
    }
    if (request.exclude_same_album && !seed->album_key.empty()) {
      filter.conditions.push_back(
          store::ColumnCondition("album_key", store::FilterOp::kNe, seed->album_key));
    }
  }
  auto allowed = Allowed(store, filter);
  if (!allowed.ok()) return allowed.status();
  auto found = space.Similar(request.seed, request.count,
                             allowed->has_value() ? &allowed->value() : nullptr);
  if (!found.ok()) return found.status();
  std::vector<PlaylistEntry> entries;
  entries.reserve(found->size());
  for (const auto& n : *found) entries.push_back(Entry(n.key, n.distance, request.seed));
  return entries;
}

Result<std::vector<PlaylistEntry>> MixTracks(store::Store& store, const SpaceIndex& space,
                                             const MixRequest& request,
                                             const SummaryLookup& summaries) {
  const SummaryLookup lookup = LookupOf(store, summaries);
  if (request.seeds.empty()) return InvalidArgument("a mix needs at least one seed track");
  for (int64_t s : request.seeds) TIMBRE_RETURN_IF_ERROR(RequireIndexed(space, s));
  auto allowed = Allowed(store, request.filter);
  if (!allowed.ok()) return allowed.status();
  const std::vector<int64_t>* allowed_ptr = allowed->has_value() ? &allowed->value() : nullptr;

  std::unordered_set<int64_t> used(request.seeds.begin(), request.seeds.end());
  std::vector<NeighbourStream> streams;
  for (int64_t s : request.seeds) streams.emplace_back(space, s, allowed_ptr);
  std::vector<size_t> cursor(streams.size(), 0);
  std::unordered_map<int64_t, store::TrackSummary> known;
  std::deque<std::string> recent_artists;
  std::vector<PlaylistEntry> out;
  double total = 0.0;
  bool relax_window = false;

  auto summary = [&](int64_t id) -> Result<const store::TrackSummary*> {
    auto it = known.find(id);
    if (it == known.end()) {
      auto s = SummaryOf(lookup, id);
      if (!s.ok()) return s.status();
      it = known.emplace(id, std::move(s).value()).first;
    }
    return &it->second;
  };

  while (out.size() < request.count) {
    bool added_this_round = false;
    bool any_left = false;
    for (size_t i = 0; i < streams.size() && out.size() < request.count; ++i) {
      // Walk this seed's ranking from its cursor to the first candidate that fits.
      for (size_t j = cursor[i];; ++j) {
        auto list = streams[i].Get(j + 1);
        if (!list.ok()) return list.status();
        if (j >= (*list)->size()) break;
        const Neighbour& n = (**list)[j];
        if (used.contains(n.key)) {
          if (j == cursor[i]) ++cursor[i];
          continue;
        }
        any_left = true;
        auto s = summary(n.key);
        if (!s.ok()) return s.status();
        const store::TrackSummary& t = **s;
        if (request.max_duration > 0 && total + t.duration > request.max_duration) {
          used.insert(n.key);  // too long now, and the total only grows
          continue;
        }
        const bool artist_clash =
            !t.artist.empty() && std::find(recent_artists.begin(), recent_artists.end(),
                                           t.artist) != recent_artists.end();
        if (artist_clash && !relax_window) continue;
        used.insert(n.key);
        total += t.duration;
        out.push_back({t, n.distance, request.seeds[i]});
        recent_artists.push_back(t.artist);
        while (recent_artists.size() > request.artist_window) recent_artists.pop_front();
        added_this_round = true;
        relax_window = false;
        break;
      }
    }
    if (!any_left) break;
    // Only artist clashes were left: let one through rather than end the mix early.
    if (!added_this_round) relax_window = true;
  }
  return out;
}

Result<std::vector<PlaylistEntry>> PathTracks(store::Store& store, const SpaceIndex& space,
                                              const PathRequest& request,
                                              const SummaryLookup& summaries) {
  const SummaryLookup lookup = LookupOf(store, summaries);
  if (request.from == request.to) return InvalidArgument("a path needs two different tracks");
  TIMBRE_RETURN_IF_ERROR(RequireIndexed(space, request.from));
  TIMBRE_RETURN_IF_ERROR(RequireIndexed(space, request.to));
  auto allowed = Allowed(store, request.filter);
  if (!allowed.ok()) return allowed.status();
  const std::vector<int64_t>* allowed_ptr = allowed->has_value() ? &allowed->value() : nullptr;

  const VectorIndex& vectors = space.vectors();
  const std::vector<float> a = vectors.Vector(request.from);
  const std::vector<float> b = vectors.Vector(request.to);
  std::unordered_set<int64_t> used = {request.from, request.to};
  std::vector<PlaylistEntry> entries = {Entry(request.from, 0.0f, request.from)};
  std::vector<float> waypoint(a.size());
  for (size_t step = 1; step <= request.steps; ++step) {
    const float t = static_cast<float>(step) / static_cast<float>(request.steps + 1);
    for (size_t d = 0; d < a.size(); ++d) waypoint[d] = a[d] + t * (b[d] - a[d]);
    // Enough neighbours that the ones already used cannot crowd out a fresh one.
    auto near = vectors.Search(waypoint.data(), used.size() + 1, allowed_ptr);
    auto fresh = std::find_if(near.begin(), near.end(),
                              [&](const Neighbour& n) { return !used.contains(n.key); });
    if (fresh == near.end()) break;  // every allowed track is already on the path
    used.insert(fresh->key);
    entries.push_back(Entry(fresh->key, fresh->distance, request.from));
  }
  entries.push_back(Entry(request.to, 0.0f, request.from));
  return WithSummaries(lookup, std::move(entries));
}

}  // namespace timbre::index
