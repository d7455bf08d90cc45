// timbre similar / mix / path: playlists from an embedding space, as a table, JSON or M3U.
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "commands.h"
#include "timbre/core/paths.h"
#include "timbre/index/timbre_v1.h"
#include "timbre/service/library.h"
#include "timbre/service/similarity.h"
#include "timbre/store/json_views.h"

namespace timbre::cli {
namespace {

// Options every playlist command shares.
struct PlaylistArgs {
  std::string space = index::kTimbreV1Space;
  std::string where;
  bool json = false;
  bool m3u = false;
};

void AddPlaylistOptions(CLI::App* cmd, PlaylistArgs& args) {
  cmd->add_option("--space", args.space, "embedding space to search (default: timbre-v1)");
  cmd->add_option("--where", args.where,
                  "only tracks matching, e.g. \"bpm >= 120 and bpm <= 130 and key = 'A minor'\" "
                  "(fields: artist, album, genre, year, duration, bpm, key, loudness, "
                  "analyzer.output, tag:NAME; see docs/similarity.md)");
  CLI::Option* json = cmd->add_flag("--json", args.json, "print the playlist as JSON");
  cmd->add_flag("--m3u", args.m3u, "print the playlist as an extended M3U file")->excludes(json);
}

std::string DisplayName(const store::TrackSummary& t) {
  if (!t.title.empty()) return t.artist.empty() ? t.title : t.artist + " - " + t.title;
  return std::filesystem::path(t.path).filename().string();
}

nlohmann::json ItemJson(const service::PlaylistItem& item) {
  nlohmann::json j = store::SummaryJson(item.track->summary);
  j["distance"] = item.distance;
  j["seed"] = item.seed;
  return j;
}

void PrintPlaylist(const service::Playlist& playlist, const PlaylistArgs& args,
                   nlohmann::json head) {
  if (args.m3u) {
    std::printf("#EXTM3U\n");
    for (const auto& item : playlist.items) {
      const auto& t = item.track->summary;
      std::printf("#EXTINF:%.0f,%s\n%s\n", t.duration, SanitizeUtf8(DisplayName(t)).c_str(),
                  t.path.c_str());
    }
    return;
  }
  if (args.json) {
    head["space"] = playlist.space;
    head["tracks"] = nlohmann::json::array();
    for (const auto& item : playlist.items) head["tracks"].push_back(ItemJson(item));
    std::printf("%s\n", Dump(head, 2).c_str());
    return;
  }
  if (playlist.items.empty()) {
    std::printf("no tracks match\n");
    return;
  }
  std::printf("%4s %6s %8s %6s %-9s %s\n", "#", "id", "distance", "bpm", "key", "track");
  for (size_t i = 0; i < playlist.items.size(); ++i) {
    const auto& t = playlist.items[i].track->summary;
    std::printf("%4zu %6lld %8.3f %6s %-9s %s\n", i + 1, static_cast<long long>(t.id),
                playlist.items[i].distance, t.bpm ? fmt::format("{:.1f}", *t.bpm).c_str() : "-",
                t.key.empty() ? "-" : t.key.c_str(), SanitizeUtf8(DisplayName(t)).c_str());
  }
}

Result<std::vector<int64_t>> ResolveTracks(service::Engine& engine,
                                           const std::vector<std::string>& args) {
  std::vector<int64_t> ids;
  for (const auto& a : args) {
    auto id = service::ResolveTrack(engine, a);
    if (!id.ok()) return id.status();
    ids.push_back(*id);
  }
  return ids;
}

struct SimilarArgs {
  PlaylistArgs playlist;
  std::string track;
  size_t count = 10;
  bool exclude_artist = false;
  bool exclude_album = false;
};

int RunSimilar(const SimilarArgs& args, const GlobalOptions& global) {
  auto engine = OpenEngine(global);
  if (!engine.ok()) return FailWith(engine.status());
  auto seed = service::ResolveTrack(**engine, args.track);
  if (!seed.ok()) return FailWith(seed.status());
  service::SimilarQuery query;
  query.seed = *seed;
  query.count = args.count;
  query.where = args.playlist.where;
  query.space = args.playlist.space;
  query.exclude_same_artist = args.exclude_artist;
  query.exclude_same_album = args.exclude_album;
  auto playlist = service::Similar(**engine, query);
  if (!playlist.ok()) return FailWith(playlist.status());
  PrintPlaylist(*playlist, args.playlist, {{"seed", *seed}});
  return 0;
}

struct MixArgs {
  PlaylistArgs playlist;
  std::vector<std::string> tracks;
  size_t count = 20;
  double max_duration = 0.0;
  size_t artist_window = 3;
};

int RunMix(const MixArgs& args, const GlobalOptions& global) {
  auto engine = OpenEngine(global);
  if (!engine.ok()) return FailWith(engine.status());
  auto seeds = ResolveTracks(**engine, args.tracks);
  if (!seeds.ok()) return FailWith(seeds.status());
  service::MixQuery query;
  query.seeds = *seeds;
  query.count = args.count;
  query.max_duration = args.max_duration;
  query.artist_window = args.artist_window;
  query.where = args.playlist.where;
  query.space = args.playlist.space;
  auto playlist = service::Mix(**engine, query);
  if (!playlist.ok()) return FailWith(playlist.status());
  PrintPlaylist(*playlist, args.playlist, {{"seeds", *seeds}, {"duration", playlist->duration()}});
  return 0;
}

struct PathArgs {
  PlaylistArgs playlist;
  std::string from;
  std::string to;
  size_t steps = 5;
};

int RunPath(const PathArgs& args, const GlobalOptions& global) {
  auto engine = OpenEngine(global);
  if (!engine.ok()) return FailWith(engine.status());
  auto ends = ResolveTracks(**engine, {args.from, args.to});
  if (!ends.ok()) return FailWith(ends.status());
  service::PathQuery query;
  query.from = (*ends)[0];
  query.to = (*ends)[1];
  query.steps = args.steps;
  query.where = args.playlist.where;
  query.space = args.playlist.space;
  auto playlist = service::Path(**engine, query);
  if (!playlist.ok()) return FailWith(playlist.status());
  PrintPlaylist(*playlist, args.playlist, {{"from", query.from}, {"to", query.to}});
  return 0;
}

}  // namespace

void AddSimilarityCommands(CLI::App& app, GlobalOptions& global) {
  {
    auto args = std::make_shared<SimilarArgs>();
    CLI::App* cmd = app.add_subcommand(
        "similar",
        "Tracks that sound like TRACK (an id or a path), nearest first. Filters select the "
        "candidates before the search, so N results come back whenever N tracks match.");
    cmd->add_option("track", args->track, "track id or path")->required();
    cmd->add_option("-n,--count", args->count, "how many tracks (default 10)")
        ->check(CLI::Range(1, 100000));
    cmd->add_flag("--exclude-same-artist", args->exclude_artist, "leave out the seed's artist");
    cmd->add_flag("--exclude-same-album", args->exclude_album, "leave out the seed's album");
    AddPlaylistOptions(cmd, args->playlist);
    cmd->callback([args, &global] { global.exit_code = RunSimilar(*args, global); });
  }
  {
    auto args = std::make_shared<MixArgs>();
    CLI::App* cmd = app.add_subcommand(
        "mix",
        "A playlist seeded by one or more tracks: their neighbours interleaved, no repeats, no "
        "artist twice within the artist window, within an optional total duration.");
    cmd->add_option("tracks", args->tracks, "seed track ids or paths")->required();
    cmd->add_option("-n,--count", args->count, "how many tracks (default 20)")
        ->check(CLI::Range(1, 100000));
    cmd->add_option("--max-duration", args->max_duration,
                    "longest total playing time in seconds (default: no limit)")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--artist-window", args->artist_window,
                    "no artist twice within this many consecutive tracks (default 3)")
        ->check(CLI::Range(0, 1000));
    AddPlaylistOptions(cmd, args->playlist);
    cmd->callback([args, &global] { global.exit_code = RunMix(*args, global); });
  }
  {
    auto args = std::make_shared<PathArgs>();
    CLI::App* cmd = app.add_subcommand(
        "path",
        "A playlist that moves from track A to track B in even steps through the embedding "
        "space: each step is the nearest unused track to a point on the line from A to B.");
    cmd->add_option("from", args->from, "first track (id or path)")->required();
    cmd->add_option("to", args->to, "last track (id or path)")->required();
    cmd->add_option("--steps", args->steps, "tracks between the two (default 5)")
        ->check(CLI::Range(1, 10000));
    AddPlaylistOptions(cmd, args->playlist);
    cmd->callback([args, &global] { global.exit_code = RunPath(*args, global); });
  }
}

}  // namespace timbre::cli
