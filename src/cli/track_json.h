// A stored track as JSON: file, audio, tags, and every analysis with its provenance and
// values. `timbre show --json` prints one; `timbre export --format json` prints a list.
#pragma once

#include <nlohmann/json.hpp>

#include "timbre/store/store.h"

namespace timbre::cli {

nlohmann::json TrackJson(const store::TrackDetails& track);

}  // namespace timbre::cli
