// timbre similar / mix / path: playlists from an embedding space, as a table, JSON or M3U.
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "commands.h"
#include "timbre/core/paths.h"
#include "timbre/index/playlists.h"
#include "timbre/index/timbre_v1.h"
#include "timbre/store/store.h"
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

nlohmann::json EntryJson(const index::PlaylistEntry& e) {
  nlohmann::json j = store::SummaryJson(e.track);
  j["distance"] = e.distance;
  j["seed"] = e.seed;
  return j;
}

void PrintPlaylist(const std::vector<index::PlaylistEntry>& entries, const PlaylistArgs& args,
                   nlohmann::json head) {
  if (args.m3u) {
    std::printf("#EXTM3U\n");
    for (const auto& e : entries) {
      std::printf("#EXTINF:%.0f,%s\n%s\n", e.track.duration,
                  SanitizeUtf8(DisplayName(e.track)).c_str(), e.track.path.c_str());
    }
    return;
  }
  if (args.json) {
    head["space"] = args.space;
    head["tracks"] = nlohmann::json::array();
    for (const auto& e : entries) head["tracks"].push_back(EntryJson(e));
    std::printf("%s\n", Dump(head, 2).c_str());
    return;
  }
  if (entries.empty()) {
    std::printf("no tracks match\n");
    return;
  }
  std::printf("%4s %6s %8s %6s %-9s %s\n", "#", "id", "distance", "bpm", "key", "track");
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& t = entries[i].track;
    std::printf("%4zu %6lld %8.3f %6s %-9s %s\n", i + 1, static_cast<long long>(t.id),
                entries[i].distance, t.bpm ? fmt::format("{:.1f}", *t.bpm).c_str() : "-",
                t.key.empty() ? "-" : t.key.c_str(), SanitizeUtf8(DisplayName(t)).c_str());
  }
}

// Opens the store and the space's index (syncing it), and parses the filter.
struct Context {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<index::SpaceIndex> space;
  store::TrackFilter filter;
};

Result<Context> OpenContext(const GlobalOptions& global, const PlaylistArgs& args) {
  Context c;
  auto filter = store::ParseFilter(args.where);
  if (!filter.ok()) return filter.status();
  c.filter = std::move(filter).value();
  auto store = store::OpenStore(StoreUrl(global));
  if (!store.ok()) return store.status();
  c.store = std::move(store).value();
  auto space = index::SpaceIndex::Open(*c.store, args.space, index::SyncMode::kReadOnly);
  if (!space.ok()) return space.status();
  if ((*space)->vectors().size() == 0) {
    return NotFound(
        fmt::format("the {} space is empty: scan a library first (timbre scan DIR, or timbre index "
                    "for a library scanned by an older timbre)",
                    args.space));
  }
  c.space = std::move(space).value();
  return c;
}

Result<std::vector<int64_t>> ResolveTracks(store::Store& store,
                                           const std::vector<std::string>& args) {
  std::vector<int64_t> ids;
  for (const auto& a : args) {
    auto id = ResolveTrack(store, a);
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
  auto c = OpenContext(global, args.playlist);
  if (!c.ok()) return FailWith(c.status());
  auto seed = ResolveTrack(*c->store, args.track);
  if (!seed.ok()) return FailWith(seed.status());
  index::SimilarRequest request;
  request.seed = *seed;
  request.count = args.count;
  request.filter = c->filter;
  request.exclude_same_artist = args.exclude_artist;
  request.exclude_same_album = args.exclude_album;
  auto entries = index::SimilarTracks(*c->store, *c->space, request);
  if (!entries.ok()) return FailWith(entries.status());
  PrintPlaylist(*entries, args.playlist, {{"seed", *seed}});
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
  auto c = OpenContext(global, args.playlist);
  if (!c.ok()) return FailWith(c.status());
  auto seeds = ResolveTracks(*c->store, args.tracks);
  if (!seeds.ok()) return FailWith(seeds.status());
  index::MixRequest request;
  request.seeds = *seeds;
  request.count = args.count;
  request.max_duration = args.max_duration;
  request.filter = c->filter;
  request.artist_window = args.artist_window;
  auto entries = index::MixTracks(*c->store, *c->space, request);
  if (!entries.ok()) return FailWith(entries.status());
  double total = 0.0;
  for (const auto& e : *entries) total += e.track.duration;
  PrintPlaylist(*entries, args.playlist, {{"seeds", *seeds}, {"duration", total}});
  return 0;
}

struct PathArgs {
  PlaylistArgs playlist;
  std::string from;
  std::string to;
  size_t steps = 5;
};

int RunPath(const PathArgs& args, const GlobalOptions& global) {
  auto c = OpenContext(global, args.playlist);
  if (!c.ok()) return FailWith(c.status());
  auto ends = ResolveTracks(*c->store, {args.from, args.to});
  if (!ends.ok()) return FailWith(ends.status());
  index::PathRequest request;
  request.from = (*ends)[0];
  request.to = (*ends)[1];
  request.steps = args.steps;
  request.filter = c->filter;
  auto entries = index::PathTracks(*c->store, *c->space, request);
  if (!entries.ok()) return FailWith(entries.status());
  PrintPlaylist(*entries, args.playlist, {{"from", request.from}, {"to", request.to}});
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
