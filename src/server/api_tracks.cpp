// Track routes: listing with filters, one track in full, and the playlists (similar, mix,
// path) over the similarity index.
#include <charconv>
#include <cmath>
#include <iterator>

#include <fmt/format.h>

#include "api_context.h"
#include "timbre/index/playlists.h"
#include "timbre/index/timbre_v1.h"
#include "timbre/store/filter.h"
#include "timbre/store/json_views.h"
#include "timbre/store/notes_view.h"

namespace timbre::server {
namespace {

Result<int64_t> TrackId(const std::string& s, const char* what) {
  int64_t id = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
  if (ec != std::errc() || ptr != s.data() + s.size() || id <= 0) {
    return InvalidArgument(fmt::format("{} must be a track id, not '{}'", what, s));
  }
  return id;
}

// A playlist answer: `head` (the object's opening members), then "tracks", an array of
// summaries each with its distance and seed, written in one string from the cache's text.
// A track the store no longer has (removed since the index was read) is left out.
Result<std::string> PlaylistBody(ApiContext& c, std::string_view head,
                                 const std::vector<index::PlaylistEntry>& entries) {
  std::vector<int64_t> ids;
  ids.reserve(entries.size());
  for (const auto& e : entries) ids.push_back(e.track.id);
  auto tracks = c.summaries.Get(c.store, ids);
  if (!tracks.ok()) return tracks.status();
  // Each text is its own allocation, likely out of cache: ask for all of them at once.
  for (const auto& track : *tracks) {
    if (track == nullptr) continue;
    const std::string& text = track->open_json;
    for (size_t at = 0; at < text.size(); at += 64) __builtin_prefetch(text.data() + at);
  }
  std::string out;
  out.reserve(head.size() + 16 + entries.size() * 256);
  out += head;
  out += "\"tracks\":[";
  bool first = true;
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& track = (*tracks)[i];
    if (track == nullptr) continue;
    if (!first) out += ',';
    first = false;
    out += track->open_json;
    const auto distance = static_cast<double>(entries[i].distance);
    if (std::isfinite(distance)) {  // the shortest text that reads back as the same double
      fmt::format_to(std::back_inserter(out), ",\"distance\":{}", distance);
    } else {
      out += ",\"distance\":null";
    }
    fmt::format_to(std::back_inserter(out), ",\"seed\":{}}}", entries[i].seed);
  }
  out += "]}";
  return out;
}

// A playlist's answer, or the error that stopped it.
HttpResponse PlaylistResponse(ApiContext& c, std::string_view head,
                              const Result<std::vector<index::PlaylistEntry>>& entries) {
  if (!entries.ok()) return StatusResponse(entries.status());
  auto body = PlaylistBody(c, head, *entries);
  if (!body.ok()) return StatusResponse(body.status());
  return JsonTextResponse(200, std::move(body).value());
}

// The space's index, or the answer that explains why there is none.
Result<std::shared_ptr<const index::SpaceIndex>> Space(ApiContext& c, const std::string& space) {
  if (space != index::kTimbreV1Space) {
    return NotFound(
        fmt::format("no embedding space '{}' (available: {})", space, index::kTimbreV1Space));
  }
  auto found = c.indexes.Get(c.store, space);
  if (!found.ok()) return found.status();
  if ((*found)->vectors().size() == 0) {
    return NotFound("the library has no analysed tracks yet: submit a scan job first");
  }
  return found;
}

index::SummaryLookup Summaries(ApiContext& c) {
  return [&c](const std::vector<int64_t>& ids) -> Result<std::vector<store::TrackSummary>> {
    auto found = c.summaries.Get(c.store, ids);
    if (!found.ok()) return found.status();
    std::vector<store::TrackSummary> out;
    out.reserve(found->size());
    for (const auto& entry : *found) {
      if (entry != nullptr) out.push_back(entry->summary);
    }
    return out;
  };
}

Result<store::TrackFilter> Filter(const std::string& where) {
  auto filter = store::ParseFilter(where);
  if (!filter.ok()) {
    return InvalidArgument(fmt::format("where: {}", filter.status().message()));
  }
  return filter;
}

}  // namespace

HttpResponse ListTracks(ApiContext& c, const HttpRequest& r, const Params&) {
  auto limit = QueryInt(r, "limit", 50, 1, 1000);
  if (!limit.ok()) return StatusResponse(limit.status());
  auto offset = QueryInt(r, "offset", 0, 0, INT64_MAX);
  if (!offset.ok()) return StatusResponse(offset.status());
  auto filter = Filter(r.Query("where"));
  if (!filter.ok()) return StatusResponse(filter.status());
  auto ids = c.store.SelectTracks(*filter);
  if (!ids.ok()) return StatusResponse(ids.status());
  const size_t begin = std::min(ids->size(), static_cast<size_t>(*offset));
  const size_t end = std::min(ids->size(), begin + static_cast<size_t>(*limit));
  auto page = c.store.Summaries({ids->begin() + begin, ids->begin() + end});
  if (!page.ok()) return StatusResponse(page.status());
  Json tracks = Json::array();
  for (const auto& t : *page) tracks.push_back(store::SummaryJson(t));
  return JsonResponse(
      200, {{"total", ids->size()}, {"offset", *offset}, {"limit", *limit}, {"tracks", tracks}});
}

HttpResponse GetTrack(ApiContext& c, const HttpRequest&, const Params& p) {
  auto id = TrackId(p.at("id"), "the path's id");
  if (!id.ok()) return ErrorResponse(404, "not_found", id.status().message());
  auto details = c.store.GetTrack(*id);
  if (!details.ok()) return StatusResponse(details.status());
  if (!*details) return ErrorResponse(404, "not_found", fmt::format("no track {}", *id));
  return JsonResponse(200, store::TrackJson(**details));
}

HttpResponse SimilarTracks(ApiContext& c, const HttpRequest& r, const Params& p) {
  auto id = TrackId(p.at("id"), "the path's id");
  if (!id.ok()) return ErrorResponse(404, "not_found", id.status().message());
  auto n = QueryInt(r, "n", 10, 1, 1000);
  if (!n.ok()) return StatusResponse(n.status());
  auto filter = Filter(r.Query("where"));
  if (!filter.ok()) return StatusResponse(filter.status());
  const std::string space_name = r.Query("space", index::kTimbreV1Space);
  auto space = Space(c, space_name);
  if (!space.ok()) return StatusResponse(space.status());
  index::SimilarRequest request;
  request.seed = *id;
  request.count = static_cast<size_t>(*n);
  request.filter = std::move(*filter);
  request.exclude_same_artist = QueryFlag(r, "exclude_same_artist");
  request.exclude_same_album = QueryFlag(r, "exclude_same_album");
  return PlaylistResponse(c,
                          fmt::format(R"({{"seed":{},"space":{},)", *id, Json(space_name).dump()),
                          index::SimilarNeighbours(c.store, **space, request, Summaries(c)));
}

HttpResponse TrackNotes(ApiContext& c, const HttpRequest& r, const Params& p) {
  auto id = TrackId(p.at("id"), "the path's id");
  if (!id.ok()) return ErrorResponse(404, "not_found", id.status().message());
  const std::string format = r.Query("format", "json");
  if (format != "json" && format != "midi") {
    return ErrorResponse(400, "invalid_argument", "format must be json or midi");
  }
  auto details = c.store.GetTrack(*id);
  if (!details.ok()) return StatusResponse(details.status());
  if (!*details) return ErrorResponse(404, "not_found", fmt::format("no track {}", *id));
  const std::filesystem::path models_dir =
      c.options.models != nullptr ? c.options.models->registry.dir() : models::DefaultModelsDir();
  auto notes = store::NotesOf(**details, models_dir);
  if (!notes.ok()) {
    if (notes.status().reason() == "no_notes") {
      return ErrorResponse(404, "no_notes", notes.status().message());
    }
    return StatusResponse(notes.status());
  }
  if (format == "json") return JsonResponse(200, store::NotesJson(**details, *notes));
  HttpResponse midi;
  midi.content_type = "audio/midi";
  midi.body = audio::EncodeMidi(store::MidiNotes(*notes), {QueryFlag(r, "pitch_bends")});
  midi.headers["Content-Disposition"] = fmt::format("attachment; filename=\"track-{}.mid\"", *id);
  return midi;
}

HttpResponse Mix(ApiContext& c, const HttpRequest& r, const Params&) {
  auto body = ParseObject(r);
  if (!body.ok()) return StatusResponse(body.status());
  index::MixRequest request;
  const Json& seeds = (*body)["seeds"];
  if (!seeds.is_array() || seeds.empty() || seeds.size() > 100) {
    return ErrorResponse(400, "invalid_argument", "\"seeds\" must list 1 to 100 track ids");
  }
  for (const auto& s : seeds) {
    if (!s.is_number_integer()) {
      return ErrorResponse(400, "invalid_argument", "\"seeds\" must hold track ids (integers)");
    }
    request.seeds.push_back(s.get<int64_t>());
  }
  if (body->contains("n")) {
    const Json& n = (*body)["n"];
    if (!n.is_number_integer() || n.get<int64_t>() < 1 || n.get<int64_t>() > 1000) {
      return ErrorResponse(400, "invalid_argument", "\"n\" must be an integer from 1 to 1000");
    }
    request.count = n.get<size_t>();
  }
  if (body->contains("max_duration")) {
    const Json& d = (*body)["max_duration"];
    if (!d.is_number() || d.get<double>() < 0) {
      return ErrorResponse(400, "invalid_argument", "\"max_duration\" must be seconds, >= 0");
    }
    request.max_duration = d.get<double>();
  }
  if (body->contains("artist_window")) {
    const Json& w = (*body)["artist_window"];
    if (!w.is_number_integer() || w.get<int64_t>() < 0 || w.get<int64_t>() > 100) {
      return ErrorResponse(400, "invalid_argument", "\"artist_window\" must be from 0 to 100");
    }
    request.artist_window = w.get<size_t>();
  }
  if (body->contains("where")) {
    if (!(*body)["where"].is_string()) {
      return ErrorResponse(400, "invalid_argument", "\"where\" must be a string");
    }
    auto filter = Filter((*body)["where"].get<std::string>());
    if (!filter.ok()) return StatusResponse(filter.status());
    request.filter = std::move(*filter);
  }
  auto space = Space(c, index::kTimbreV1Space);
  if (!space.ok()) return StatusResponse(space.status());
  return PlaylistResponse(c, fmt::format(R"({{"seeds":{},)", Json(request.seeds).dump()),
                          index::MixTracks(c.store, **space, request, Summaries(c)));
}

HttpResponse Path(ApiContext& c, const HttpRequest& r, const Params&) {
  auto from = TrackId(r.Query("from"), "'from'");
  if (!from.ok()) return StatusResponse(from.status());
  auto to = TrackId(r.Query("to"), "'to'");
  if (!to.ok()) return StatusResponse(to.status());
  auto steps = QueryInt(r, "steps", 5, 1, 200);
  if (!steps.ok()) return StatusResponse(steps.status());
  auto filter = Filter(r.Query("where"));
  if (!filter.ok()) return StatusResponse(filter.status());
  auto space = Space(c, index::kTimbreV1Space);
  if (!space.ok()) return StatusResponse(space.status());
  index::PathRequest request;
  request.from = *from;
  request.to = *to;
  request.steps = static_cast<size_t>(*steps);
  request.filter = std::move(*filter);
  return PlaylistResponse(c, fmt::format(R"({{"from":{},"to":{},)", *from, *to),
                          index::PathTracks(c.store, **space, request, Summaries(c)));
}

}  // namespace timbre::server
