// Writing timbre's results into the files' tags, for players and taggers to read: BPM,
// initial key, ReplayGain and the nom: namespace, plus a short provenance tag.
//
// After a write the store records the file's new size, time and hash, so the next scan
// sees the same audio and keeps its results instead of analysing the file again.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "timbre/audio/tag_writer.h"
#include "timbre/core/status.h"
#include "timbre/store/store.h"

namespace timbre::service {

// Groups of tags, chosen with --only.
enum TagGroup : unsigned {
  kTagBpm = 1u << 0,
  kTagKey = 1u << 1,
  kTagReplayGain = 1u << 2,
  kTagNom = 1u << 3,
  kAllTagGroups = kTagBpm | kTagKey | kTagReplayGain | kTagNom,
};

// "bpm,key,replaygain,nom" (any subset, any order) → groups.
Result<unsigned> ParseTagGroups(std::string_view list);

enum class KeyNotation { kStandard, kCamelot, kOpenKey };
Result<KeyNotation> ParseKeyNotation(std::string_view name);  // standard | camelot | openkey

// A key in a notation: tonic 0 = C. Standard: "Ebm", "F#" (ID3's TKEY form, flats except
// F#); Camelot: "2A", "8B"; Open Key: "3m", "1d".
std::string FormatKey(int tonic, bool minor, KeyNotation notation);

// The nom: name of a built-in analyzer's output, by the namespace rules:
// nom:timbre_dsp_<engine version>_<analyzer>_v<analyzer version>_<output>, dots and
// underscores inside a part turned into hyphens.
std::string NomTagName(const analysis::Provenance& provenance, std::string_view output);

struct TagPlanOptions {
  unsigned groups = kAllTagGroups;
  KeyNotation key_notation = KeyNotation::kStandard;
};

// The fields timbre would write for a track, from its stored results. Empty when the
// track has none of the chosen results.
audio::TagFields PlanTrackTags(const store::TrackDetails& track, const TagPlanOptions& options);

struct TrackTagOutcome {
  int64_t track_id = 0;
  std::string path;
  std::vector<audio::TagChange> changes;  // made, or for a dry run those that would be
  Status status;
};

class Engine;

// Track ids named by `targets`: ids, files, or folders (every track under them); none: the
// whole library. Only tracks with results count. Sorted, without repeats.
Result<std::vector<int64_t>> TagTargets(Engine& engine, const std::vector<std::string>& targets);

// Plans the track's tags and, unless `dry_run`, writes them and updates the store's record
// of the file. A failure is reported in the outcome; only the store failing is an error.
Result<TrackTagOutcome> WriteTrackTags(store::Store& store, int64_t track_id,
                                       const TagPlanOptions& options, bool dry_run);

}  // namespace timbre::service
