// timbre show TRACK: everything stored about one track, with provenance.
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "commands.h"
#include "timbre/core/paths.h"
#include "timbre/service/library.h"
#include "timbre/store/json_views.h"

namespace timbre::cli {
namespace {

struct ShowArgs {
  std::string track;
  bool json = false;
};

void PrintHuman(const store::TrackDetails& d) {
  const auto& t = d.track;
  std::printf("track %lld  %s\n", static_cast<long long>(t.key.id),
              SanitizeUtf8(t.key.path).c_str());
  std::printf("  status     %s", std::string(store::TrackStatusName(t.key.status)).c_str());
  if (t.key.status == store::TrackStatus::kFailed) {
    std::printf(" (%s: %s)", t.error_reason.c_str(), t.error_message.c_str());
  }
  std::printf("\n  audio      %s / %s, %.2f s, %d Hz, %d ch, %lld bit/s\n", t.container.c_str(),
              t.codec.c_str(), t.duration, t.sample_rate, t.channels,
              static_cast<long long>(t.bitrate));
  auto tag = [](const char* name, const std::string& v) {
    if (!v.empty()) std::printf("  %-10s %s\n", name, v.c_str());
  };
  tag("title", t.tags.title);
  tag("artist", t.tags.artist);
  tag("album", t.tags.album);
  tag("albumartist", t.tags.album_artist);
  tag("genre", t.tags.genre);
  if (t.tags.track_number > 0) tag("track", std::to_string(t.tags.track_number));
  if (t.tags.year > 0) tag("year", std::to_string(t.tags.year));
  tag("mb track", t.tags.musicbrainz_track_id);
  tag("mb album", t.tags.musicbrainz_album_id);
  std::printf("  size       %lld bytes, content %s\n", static_cast<long long>(t.key.size),
              t.key.content_hash.c_str());
  for (const auto& a : d.analyses) {
    const auto& p = a.provenance;
    std::printf("\n%s v%d  (params %s; engine %s; %s; %.3f s; %s)\n", p.analyzer.c_str(),
                p.analyzer_version, p.params.empty() ? "-" : p.params.c_str(),
                p.engine_version.c_str(), p.window.c_str(), p.seconds, a.created_at.c_str());
    for (const auto& v : d.descriptors) {
      if (v.analyzer == p.analyzer) {
        std::printf("  %-24s %.6g %s\n", v.name.c_str(), v.value, v.unit.c_str());
      }
    }
    for (const auto& v : d.texts) {
      if (v.analyzer != p.analyzer) continue;
      std::string shown = v.value.size() > 48 ? v.value.substr(0, 45) + "..." : v.value;
      std::printf("  %-24s %s (%zu chars)\n", v.name.c_str(), shown.c_str(), v.value.size());
    }
    for (const auto& f : d.artifacts) {
      if (f.analyzer != p.analyzer) continue;
      std::printf("  %-24s file, %lld bytes, %s (sha256 %.12s)\n", f.name.c_str(),
                  static_cast<long long>(f.size), f.media_type.c_str(), f.sha256.c_str());
    }
    for (const auto& n : a.notes) std::printf("  note: %s\n", n.c_str());
  }
}

int RunShow(const ShowArgs& args, const GlobalOptions& global) {
  auto engine = OpenEngine(global);
  if (!engine.ok()) return FailWith(engine.status());
  auto details = service::LoadTrack(**engine, args.track);
  if (!details.ok()) return FailWith(details.status());
  if (args.json) {
    std::printf("%s\n", Dump(store::TrackJson(*details), 2).c_str());
  } else {
    PrintHuman(*details);
  }
  return 0;
}

}  // namespace

void AddShowCommand(CLI::App& app, GlobalOptions& global) {
  auto args = std::make_shared<ShowArgs>();
  CLI::App* cmd = app.add_subcommand(
      "show",
      "Show everything stored about a track: file, audio, tags, and each analysis "
      "with its provenance (analyzer version, parameters, engine version, timing).");
  cmd->add_option("track", args->track, "a track id or a file path")->required();
  cmd->add_flag("--json", args->json, "print JSON");
  cmd->callback([args, &global] { global.exit_code = RunShow(*args, global); });
}

}  // namespace timbre::cli
