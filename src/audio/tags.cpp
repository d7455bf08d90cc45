#include "timbre/audio/tags.h"

#include <taglib/fileref.h>
#include <taglib/tpropertymap.h>

#include <charconv>

namespace timbre::audio {
namespace {

std::string First(const TagLib::PropertyMap& props, const char* key) {
  auto it = props.find(key);
  if (it == props.end() || it->second.isEmpty()) return {};
  return it->second.front().to8Bit(true);
}

// "3/12" → 3, "2024-05-01" → 2024; absent or unparsable → 0.
int LeadingInt(const std::string& s) {
  int value = 0;
  const char* begin = s.data();
  while (begin < s.data() + s.size() && *begin == ' ') ++begin;
  auto [ptr, ec] = std::from_chars(begin, s.data() + s.size(), value);
  return ec == std::errc() && value > 0 ? value : 0;
}

}  // namespace

bool FileTags::empty() const {
  return title.empty() && artist.empty() && album.empty() && album_artist.empty() &&
         genre.empty() && track_number == 0 && disc_number == 0 && year == 0 &&
         musicbrainz_track_id.empty() && musicbrainz_album_id.empty();
}

FileTags ReadFileTags(const std::filesystem::path& path) {
  FileTags tags;
  // readAudioProperties=false: the decoder measures the audio; TagLib only reads tags.
  TagLib::FileRef ref(path.c_str(), false);
  if (ref.isNull() || ref.file() == nullptr || !ref.file()->isValid()) return tags;
  const TagLib::PropertyMap props = ref.file()->properties();
  tags.title = First(props, "TITLE");
  tags.artist = First(props, "ARTIST");
  tags.album = First(props, "ALBUM");
  tags.album_artist = First(props, "ALBUMARTIST");
  tags.genre = First(props, "GENRE");
  tags.track_number = LeadingInt(First(props, "TRACKNUMBER"));
  tags.disc_number = LeadingInt(First(props, "DISCNUMBER"));
  tags.year = LeadingInt(First(props, "DATE"));
  if (tags.year == 0) tags.year = LeadingInt(First(props, "ORIGINALDATE"));
  tags.musicbrainz_track_id = First(props, "MUSICBRAINZ_TRACKID");
  tags.musicbrainz_release_track_id = First(props, "MUSICBRAINZ_RELEASETRACKID");
  tags.musicbrainz_album_id = First(props, "MUSICBRAINZ_ALBUMID");
  tags.musicbrainz_artist_id = First(props, "MUSICBRAINZ_ARTISTID");
  tags.musicbrainz_album_artist_id = First(props, "MUSICBRAINZ_ALBUMARTISTID");
  return tags;
}

}  // namespace timbre::audio
