// File tags read through TagLib: the fields players and MusicBrainz tools rely on.
#pragma once

#include <filesystem>
#include <string>

#include "timbre/core/status.h"

namespace timbre::audio {

struct FileTags {
  std::string title;
  std::string artist;
  std::string album;
  std::string album_artist;
  std::string genre;
  int track_number = 0;  // 0 = absent
  int disc_number = 0;
  int year = 0;
  std::string musicbrainz_track_id;  // MusicBrainz recording id
  std::string musicbrainz_release_track_id;
  std::string musicbrainz_album_id;
  std::string musicbrainz_artist_id;
  std::string musicbrainz_album_artist_id;

  bool empty() const;
};

// Reads tags. A file TagLib cannot parse yields empty tags, not an error: tags are optional
// and the decoder decides whether the file is audio.
FileTags ReadFileTags(const std::filesystem::path& path);

}  // namespace timbre::audio
