// Stored tracks and jobs as JSON, the same for the CLI and the HTTP API.
#pragma once

#include <nlohmann/json.hpp>

#include "timbre/store/store.h"

namespace timbre::store {

// File, audio, tags, and every analysis with its provenance and values: what `show --json`
// prints, `export` lists and GET /v1/tracks/{id} returns.
nlohmann::json TrackJson(const TrackDetails& track);

// The short form of lists and playlists: id, path, title, artist, album, duration, bpm, key.
nlohmann::json SummaryJson(const TrackSummary& track);

// A job: state, attempts, payload, progress {current, total, percent, message}, result,
// error, times, and the attempt log when loaded.
nlohmann::json JobJson(const JobRecord& job);

}  // namespace timbre::store
