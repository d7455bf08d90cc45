// Track routes: listing with filters, one track in full, its notes, and the playlists
// (similar, mix, path) over any embedding space.
#include <charconv>
#include <cmath>
#include <iterator>

#include <fmt/format.h>

#include "api_context.h"
#include "timbre/audio/midi_file.h"
#include "timbre/index/timbre_v1.h"
#include "timbre/service/library.h"
#include "timbre/service/similarity.h"
#include "timbre/store/json_views.h"

namespace timbre::server {
namespace {

Result<int64_t> QueryTrackId(const HttpRequest& r, const char* name) {
  const std::string s = r.Query(name);
  int64_t id = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
  if (ec != std::errc() || ptr != s.data() + s.size() || id <= 0) {
    return InvalidArgument(fmt::format("'{}' must be a track id, not '{}'", name, s));
  }
  return id;
}

// A playlist answer: `head` (the object's opening members), then "tracks", an array of
// summaries each with its distance and seed, written in one string from the cache's text.
std::string PlaylistBody(std::string_view head, const service::Playlist& playlist) {
  // Each text is its own allocation, likely out of cache: ask for all of them at once.
  for (const auto& item : playlist.items) {
    const std::string& text = item.track->open_json;
    for (size_t at = 0; at < text.size(); at += 64) __builtin_prefetch(text.data() + at);
  }
  std::string out;
  out.reserve(head.size() + 16 + playlist.items.size() * 256);
  out += head;
  out += "\"tracks\":[";
  bool first = true;
  for (const auto& item : playlist.items) {
    if (!first) out += ',';
    first = false;
    out += item.track->open_json;
    const auto distance = static_cast<double>(item.distance);
    if (std::isfinite(distance)) {  // the shortest text that reads back as the same double
      fmt::format_to(std::back_inserter(out), ",\"distance\":{}", distance);
    } else {
      out += ",\"distance\":null";
    }
    fmt::format_to(std::back_inserter(out), ",\"seed\":{}}}", item.seed);
  }
  out += "]}";
  return out;
}

// Runs a playlist query at once when its index is ready; otherwise on the executor, where it
// may wait for the index to open without holding an HTTP thread.
template <typename Query, typename Run>
HttpResponse PlaylistReply(ApiContext& c, Query query, std::string head, Run run) {
  auto answer = [&c, query, head, run](service::IndexWait wait) -> HttpResponse {
    auto playlist = run(c.engine, query, wait);
    if (!playlist.ok()) return ErrorReply(playlist.status());
    return JsonTextResponse(200, PlaylistBody(head, *playlist));
  };
  auto playlist = run(c.engine, query, service::IndexWait::kNoWait);
  if (playlist.ok()) return JsonTextResponse(200, PlaylistBody(head, *playlist));
  if (playlist.status().reason() != "index_not_ready") return ErrorReply(playlist.status());
  HttpResponse later;
  later.deferred = [answer] { return answer(service::IndexWait::kWait); };
  return later;
}

}  // namespace

HttpResponse ListTracks(ApiContext& c, const HttpRequest& r, const Params&) {
  service::TrackPageRequest request;
  auto limit = QueryInt(r, "limit", 50, 1, 1000);
  if (!limit.ok()) return ErrorReply(limit.status());
  auto offset = QueryInt(r, "offset", 0, 0, INT64_MAX);
  if (!offset.ok()) return ErrorReply(offset.status());
  request.limit = *limit;
  request.offset = *offset;
  request.where = r.Query("where");
  auto page = service::ListTracks(c.engine, request);
  if (!page.ok()) return ErrorReply(page.status());
  Json tracks = Json::array();
  for (const auto& t : page->tracks) tracks.push_back(store::SummaryJson(t));
  return JsonResponse(
      200, {{"total", page->total}, {"offset", *offset}, {"limit", *limit}, {"tracks", tracks}});
}

HttpResponse GetTrack(ApiContext& c, const HttpRequest&, const Params& p) {
  auto id = PathId(p, "track");
  if (!id.ok()) return ErrorReply(id.status());
  auto details = service::LoadTrack(c.engine, *id);
  if (!details.ok()) return ErrorReply(details.status());
  return JsonResponse(200, store::TrackJson(*details));
}

HttpResponse SimilarTracks(ApiContext& c, const HttpRequest& r, const Params& p) {
  auto id = PathId(p, "track");
  if (!id.ok()) return ErrorReply(id.status());
  auto n = QueryInt(r, "n", 10, 1, 1000);
  if (!n.ok()) return ErrorReply(n.status());
  service::SimilarQuery query;
  query.seed = *id;
  query.count = static_cast<size_t>(*n);
  query.where = r.Query("where");
  query.space = r.Query("space", index::kTimbreV1Space);
  query.exclude_same_artist = QueryFlag(r, "exclude_same_artist");
  query.exclude_same_album = QueryFlag(r, "exclude_same_album");
  std::string head = fmt::format(R"({{"seed":{},"space":{},)", *id, Json(query.space).dump());
  return PlaylistReply(c, std::move(query), std::move(head),
                       [](service::Engine& e, const service::SimilarQuery& q,
                          service::IndexWait w) { return service::Similar(e, q, w); });
}

HttpResponse TrackNotes(ApiContext& c, const HttpRequest& r, const Params& p) {
  auto id = PathId(p, "track");
  if (!id.ok()) return ErrorReply(id.status());
  const std::string format = r.Query("format", "json");
  if (format != "json" && format != "midi") {
    return ErrorReply(InvalidArgument("format must be json or midi"));
  }
  auto details = service::LoadTrack(c.engine, *id);
  if (!details.ok()) return ErrorReply(details.status());
  auto notes = service::TrackNotes(c.engine, *details);
  if (!notes.ok()) return ErrorReply(notes.status());
  if (format == "json") return JsonResponse(200, store::NotesJson(*details, *notes));
  HttpResponse midi;
  midi.content_type = "audio/midi";
  midi.body = audio::EncodeMidi(store::MidiNotes(*notes), {QueryFlag(r, "pitch_bends")});
  midi.headers["Content-Disposition"] = fmt::format("attachment; filename=\"track-{}.mid\"", *id);
  return midi;
}

HttpResponse TrackArtifact(ApiContext& c, const HttpRequest&, const Params& p) {
  auto id = PathId(p, "track");
  if (!id.ok()) return ErrorReply(id.status());
  auto file = service::TrackArtifact(c.engine, *id, p.at("analyzer"), p.at("name"));
  if (!file.ok()) return ErrorReply(file.status());
  HttpResponse r;
  r.file = file->path;
  r.content_type = file->artifact.media_type;
  r.headers["Content-Disposition"] = fmt::format("inline; filename=\"track-{}-{}-{}\"", *id,
                                                 file->artifact.analyzer, file->artifact.name);
  // Content-addressed: the bytes under this hash never change.
  r.headers["Cache-Control"] = "private, max-age=3600";
  return r;
}

HttpResponse Mix(ApiContext& c, const HttpRequest& r, const Params&) {
  auto body = ParseObject(r);
  if (!body.ok()) return ErrorReply(body.status());
  service::MixQuery query;
  const Json& seeds = (*body)["seeds"];
  if (!seeds.is_array() || seeds.empty() || seeds.size() > 100) {
    return ErrorReply(InvalidArgument("\"seeds\" must list 1 to 100 track ids"));
  }
  for (const auto& s : seeds) {
    if (!s.is_number_integer()) {
      return ErrorReply(InvalidArgument("\"seeds\" must hold track ids (integers)"));
    }
    query.seeds.push_back(s.get<int64_t>());
  }
  if (body->contains("n")) {
    const Json& n = (*body)["n"];
    if (!n.is_number_integer() || n.get<int64_t>() < 1 || n.get<int64_t>() > 1000) {
      return ErrorReply(InvalidArgument("\"n\" must be an integer from 1 to 1000"));
    }
    query.count = n.get<size_t>();
  }
  if (body->contains("max_duration")) {
    const Json& d = (*body)["max_duration"];
    if (!d.is_number() || d.get<double>() < 0) {
      return ErrorReply(InvalidArgument("\"max_duration\" must be seconds, >= 0"));
    }
    query.max_duration = d.get<double>();
  }
  if (body->contains("artist_window")) {
    const Json& w = (*body)["artist_window"];
    if (!w.is_number_integer() || w.get<int64_t>() < 0 || w.get<int64_t>() > 100) {
      return ErrorReply(InvalidArgument("\"artist_window\" must be from 0 to 100"));
    }
    query.artist_window = w.get<size_t>();
  }
  for (const char* name : {"where", "space"}) {
    if (!body->contains(name)) continue;
    if (!(*body)[name].is_string()) {
      return ErrorReply(InvalidArgument(fmt::format("\"{}\" must be a string", name)));
    }
    (name == std::string("where") ? query.where : query.space) = (*body)[name].get<std::string>();
  }
  std::string head = fmt::format(R"({{"seeds":{},)", Json(query.seeds).dump());
  return PlaylistReply(c, std::move(query), std::move(head),
                       [](service::Engine& e, const service::MixQuery& q, service::IndexWait w) {
                         return service::Mix(e, q, w);
                       });
}

HttpResponse Path(ApiContext& c, const HttpRequest& r, const Params&) {
  auto from = QueryTrackId(r, "from");
  if (!from.ok()) return ErrorReply(from.status());
  auto to = QueryTrackId(r, "to");
  if (!to.ok()) return ErrorReply(to.status());
  auto steps = QueryInt(r, "steps", 5, 1, 200);
  if (!steps.ok()) return ErrorReply(steps.status());
  service::PathQuery query;
  query.from = *from;
  query.to = *to;
  query.steps = static_cast<size_t>(*steps);
  query.where = r.Query("where");
  query.space = r.Query("space", index::kTimbreV1Space);
  std::string head = fmt::format(R"({{"from":{},"to":{},)", *from, *to);
  return PlaylistReply(c, std::move(query), std::move(head),
                       [](service::Engine& e, const service::PathQuery& q, service::IndexWait w) {
                         return service::Path(e, q, w);
                       });
}

}  // namespace timbre::server
