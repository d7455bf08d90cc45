// Writing tags into audio files through TagLib, without touching the audio.
//
// A write never edits the file in place: the file is copied beside itself (same folder, so
// the same file system), TagLib changes the copy's tags, the copy is flushed to disk and
// then renamed over the original. A crash at any point leaves either the old file or the
// new one, and at worst a hidden temporary file ".NAME.timbre-XXXXXX.EXT" next to it.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "timbre/core/status.h"

namespace timbre::audio {

// Tag fields by name. The names players share map to each format's own field:
//   BPM                    ID3v2 TBPM, MP4 tmpo, Vorbis/APE BPM
//   INITIALKEY             ID3v2 TKEY, MP4 ----:com.apple.iTunes:initialkey, Vorbis/APE INITIALKEY
// Any other name (REPLAYGAIN_TRACK_GAIN, nom:...) becomes the format's free-form field:
// an ID3v2 TXXX frame, a Vorbis comment, an MP4 ----:com.apple.iTunes: atom (lower case, as
// iTunes and foobar2000 write them; a name with its own namespace such as "nom:x" becomes
// ----:nom:x), an APE item. An empty value removes the field.
using TagFields = std::map<std::string, std::string>;

// One field a write changes; `before` is empty for a field the file did not have.
struct TagChange {
  std::string name;
  std::string before;
  std::string after;
};

// Every tag field of a file by upper-case name (TagLib's property names, plus MP4 free-form
// atoms), several values joined by "; ". Errors: NotFound, Unsupported (a container TagLib
// cannot tag), Corrupt (TagLib cannot parse it).
Result<TagFields> ReadTagFields(const std::filesystem::path& path);

// What writing `fields` would change, in name order; fields already equal are left out.
Result<std::vector<TagChange>> PlanTagChanges(const std::filesystem::path& path,
                                              const TagFields& fields);

struct TagWriteOptions {
  // Runs after the copy is tagged and before it replaces the original; tests use it to
  // change the original in the middle of a write.
  std::function<void()> before_commit;
};

// Writes `fields`, returning what changed; a file that already holds them is not rewritten.
// Refused, with the file left as it was: a read-only file (no write permission bit), a
// container TagLib cannot tag (Unsupported), too little free space, a file that changed
// while it was being written (IoError, reason "changed_during_write").
Result<std::vector<TagChange>> WriteTagFields(const std::filesystem::path& path,
                                              const TagFields& fields,
                                              const TagWriteOptions& options = {});

}  // namespace timbre::audio
