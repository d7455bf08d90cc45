// Reading the library: a track named by id or path, a track in full, pages of tracks under a
// filter, the library's summary, a track's notes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "timbre/core/status.h"
#include "timbre/store/notes_view.h"
#include "timbre/store/store.h"

namespace timbre::service {

class Engine;

// A track named by its id, or by a path (relative paths resolve against the current folder).
// A number that is also an existing file's name is taken as the file.
Result<int64_t> ResolveTrack(Engine& engine, const std::string& id_or_path);
// Everything stored about a track; NotFound when the store has no such track.
Result<store::TrackDetails> LoadTrack(Engine& engine, int64_t id);
Result<store::TrackDetails> LoadTrack(Engine& engine, const std::string& id_or_path);

struct TrackPageRequest {
  std::string where;  // filter syntax (store/filter.h); empty: every ok track
  int64_t offset = 0;
  int64_t limit = 50;
};
struct TrackPage {
  size_t total = 0;  // tracks that match
  std::vector<store::TrackSummary> tracks;
};
Result<TrackPage> ListTracks(Engine& engine, const TrackPageRequest& request);

// Every ok track matching `where`, in full (what `export` writes).
Result<std::vector<store::TrackDetails>> TracksInFull(Engine& engine, const std::string& where);

// A file of a track's analysis, found on disk: NotFound when the track has no such file (or
// the artifact store lost it).
struct ArtifactFile {
  store::StoredArtifact artifact;
  std::filesystem::path path;
};
Result<ArtifactFile> TrackArtifact(Engine& engine, int64_t track_id, const std::string& analyzer,
                                   const std::string& name);

// The note events `notes` stored for a track; NotFound with reason no_notes when it has none.
Result<store::TrackNotes> TrackNotes(Engine& engine, const store::TrackDetails& track);

}  // namespace timbre::service
