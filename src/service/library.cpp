#include "timbre/service/library.h"

#include <charconv>
#include <filesystem>

#include <fmt/format.h>

#include "timbre/core/paths.h"
#include "timbre/service/engine.h"
#include "timbre/store/filter.h"

namespace timbre::service {

Result<int64_t> ResolveTrack(Engine& engine, const std::string& arg) {
  int64_t id = 0;
  const auto [ptr, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), id);
  std::error_code fs_ec;
  if (ec == std::errc() && ptr == arg.data() + arg.size() && !std::filesystem::exists(arg, fs_ec)) {
    return id;
  }
  const std::string path = std::filesystem::absolute(arg, fs_ec).lexically_normal().string();
  auto found = engine.store().FindTrackId(path);
  if (!found.ok()) return found.status();
  if (!*found) return NotFound(fmt::format("no track at {} in the store", SanitizeUtf8(path)));
  return **found;
}

Result<store::TrackDetails> LoadTrack(Engine& engine, int64_t id) {
  auto details = engine.store().GetTrack(id);
  if (!details.ok()) return details.status();
  if (!*details) return NotFound(fmt::format("no track with id {}", id));
  return std::move(**details);
}

Result<store::TrackDetails> LoadTrack(Engine& engine, const std::string& id_or_path) {
  auto id = ResolveTrack(engine, id_or_path);
  if (!id.ok()) return id.status();
  return LoadTrack(engine, *id);
}

Result<TrackPage> ListTracks(Engine& engine, const TrackPageRequest& request) {
  if (request.offset < 0 || request.limit < 0) {
    return InvalidArgument("offset and limit must not be negative");
  }
  auto filter = store::ParseFilter(request.where);
  if (!filter.ok()) return InvalidArgument(fmt::format("where: {}", filter.status().message()));
  auto ids = engine.store().SelectTracks(*filter);
  if (!ids.ok()) return ids.status();
  const size_t begin = std::min(ids->size(), static_cast<size_t>(request.offset));
  const size_t end = std::min(ids->size(), begin + static_cast<size_t>(request.limit));
  auto page = engine.store().Summaries({ids->begin() + begin, ids->begin() + end});
  if (!page.ok()) return page.status();
  return TrackPage{ids->size(), std::move(page).value()};
}

Result<std::vector<store::TrackDetails>> TracksInFull(Engine& engine, const std::string& where) {
  auto filter = store::ParseFilter(where);
  if (!filter.ok()) return InvalidArgument(fmt::format("where: {}", filter.status().message()));
  auto ids = engine.store().SelectTracks(*filter);
  if (!ids.ok()) return ids.status();
  std::vector<store::TrackDetails> tracks;
  tracks.reserve(ids->size());
  for (int64_t id : *ids) {
    auto details = engine.store().GetTrack(id);
    if (!details.ok()) return details.status();
    if (*details) tracks.push_back(std::move(**details));
  }
  return tracks;
}

Result<ArtifactFile> TrackArtifact(Engine& engine, int64_t track_id, const std::string& analyzer,
                                   const std::string& name) {
  auto track = LoadTrack(engine, track_id);
  if (!track.ok()) return track.status();
  for (const auto& a : track->artifacts) {
    if (a.analyzer != analyzer || a.name != name) continue;
    auto path = store::ArtifactFiles(engine.store().artifact_dir()).PathOf(a.sha256);
    if (!path.ok()) return path.status();
    std::error_code ec;
    if (!std::filesystem::is_regular_file(*path, ec)) {
      return NotFound(fmt::format("track {}'s {} {} is missing from the artifact store ({}); "
                                  "rescan to make it again",
                                  track_id, analyzer, name, path->string()))
          .WithReason("artifact_missing");
    }
    return ArtifactFile{a, *path};
  }
  return NotFound(fmt::format("track {} has no file {}/{}", track_id, analyzer, name));
}

Result<store::TrackNotes> TrackNotes(Engine& engine, const store::TrackDetails& track) {
  return store::NotesOf(track, engine.models_dir());
}

}  // namespace timbre::service
