// timbre tags write: BPM, key, ReplayGain and nom: tags from the store into the files.
// timbre tags show: the tags a file holds, sorted into timbre's own, legacy analysis tags
// (essentia:*, AcousticBrainz-style) and the rest, beside what the store would write.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "commands.h"
#include "progress.h"
#include "timbre/audio/tag_writer.h"
#include "timbre/core/paths.h"
#include "timbre/core/text.h"
#include "timbre/service/library.h"
#include "timbre/service/tag_writing.h"

namespace timbre::cli {
namespace {

namespace fs = std::filesystem;

struct WriteArgs {
  std::vector<std::string> targets;
  bool dry_run = false;
  std::string only = "bpm,key,replaygain,nom";
  std::string key_notation = "standard";
  bool json = false;
};

nlohmann::json ChangesJson(const std::vector<audio::TagChange>& changes) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : changes) {
    out.push_back({{"name", c.name}, {"before", c.before}, {"after", c.after}});
  }
  return out;
}

int RunWrite(const WriteArgs& args, const GlobalOptions& global) {
  service::TagPlanOptions options;
  auto groups = service::ParseTagGroups(args.only);
  if (!groups.ok()) return FailWith(groups.status());
  options.groups = *groups;
  auto notation = service::ParseKeyNotation(args.key_notation);
  if (!notation.ok()) return FailWith(notation.status());
  options.key_notation = *notation;

  auto engine = OpenEngine(global);
  if (!engine.ok()) return FailWith(engine.status());
  auto ids = service::TagTargets(**engine, args.targets);
  if (!ids.ok()) return FailWith(ids.status());
  if (ids->empty()) return Fail("no analysed tracks match: scan the files first", 2);

  ProgressBar progress(!args.json && ProgressBar::StderrIsTerminal());
  progress.SetTotal(ids->size());
  size_t changed = 0, unchanged = 0, skipped = 0, failed = 0, done = 0;
  nlohmann::json tracks = nlohmann::json::array();
  for (int64_t id : *ids) {
    auto outcome = service::WriteTrackTags((*engine)->store(), id, options, args.dry_run);
    if (!outcome.ok()) {
      progress.Clear();
      return FailWith(outcome.status());
    }
    progress.Update(++done, 0, outcome->path);
    const std::string path = SanitizeUtf8(outcome->path);
    nlohmann::json j{{"id", id}, {"path", path}};
    if (outcome->status.code() == StatusCode::kUnsupported) {
      // A format no tag writer serves (WAV, Matroska...): noted, not a failure.
      ++skipped;
      j["status"] = "skipped";
      j["error"] = {{"reason", outcome->status.reason()}, {"message", outcome->status.message()}};
    } else if (!outcome->status.ok()) {
      ++failed;
      j["status"] = "failed";
      j["error"] = {{"reason", outcome->status.reason()}, {"message", outcome->status.message()}};
      if (!args.json) {
        progress.Clear();
        std::fprintf(stderr, "timbre: %s\n", outcome->status.message().c_str());
      }
    } else if (outcome->changes.empty()) {
      ++unchanged;
      j["status"] = "unchanged";
    } else {
      ++changed;
      j["status"] = args.dry_run ? "would_change" : "written";
      if (!args.json) {
        progress.Clear();
        std::printf("%s%s\n", args.dry_run ? "would write " : "wrote ", path.c_str());
        for (const auto& c : outcome->changes) {
          std::printf("  %-34s %s -> %s\n", c.name.c_str(),
                      c.before.empty() ? "(none)" : c.before.c_str(),
                      c.after.empty() ? "(removed)" : c.after.c_str());
        }
      }
    }
    j["changes"] = ChangesJson(outcome->changes);
    tracks.push_back(std::move(j));
  }
  progress.Clear();
  if (args.json) {
    nlohmann::json summary{{"dry_run", args.dry_run}, {"tracks", tracks.size()},
                           {"changed", changed},      {"unchanged", unchanged},
                           {"skipped", skipped},      {"failed", failed},
                           {"results", tracks}};
    std::printf("%s\n", Dump(summary, 2).c_str());
  } else {
    std::printf("%zu %s, %zu already up to date, %zu skipped (format without tags), %zu failed\n",
                changed, args.dry_run ? "would change" : "written", unchanged, skipped, failed);
  }
  return failed > 0 ? 1 : 0;
}

// Where a tag comes from, by its name.
std::string_view TagFamily(const std::string& upper_name) {
  static const std::vector<std::string> kTimbre = {"BPM",
                                                   "INITIALKEY",
                                                   "REPLAYGAIN_TRACK_GAIN",
                                                   "REPLAYGAIN_TRACK_PEAK",
                                                   "REPLAYGAIN_ALBUM_GAIN",
                                                   "REPLAYGAIN_ALBUM_PEAK",
                                                   "TIMBRE_PROVENANCE"};
  if (upper_name.rfind("NOM:", 0) == 0 ||
      std::find(kTimbre.begin(), kTimbre.end(), upper_name) != kTimbre.end()) {
    return "timbre";
  }
  // Essentia's extractor and AcousticBrainz taggers (Picard's plugin writes ab:lo:/ab:hi:).
  if (upper_name.rfind("ESSENTIA:", 0) == 0 || upper_name.rfind("AB:", 0) == 0 ||
      upper_name.rfind("ACOUSTICBRAINZ", 0) == 0) {
    return "legacy";
  }
  return "other";
}

// Namespaced names read back in their written (lower) case; the rest as TagLib names them.
std::string DisplayName(const std::string& upper_name) {
  if (upper_name.find(':') == std::string::npos) return upper_name;
  return AsciiLower(upper_name);
}

struct ShowArgs {
  std::string track;
  bool json = false;
};

int RunShow(const ShowArgs& args, const GlobalOptions& global) {
  auto engine = OpenEngine(global);
  if (!engine.ok()) return FailWith(engine.status());
  // A file the store does not know still shows its tags.
  std::string path;
  audio::TagFields stored;
  auto id = service::ResolveTrack(**engine, args.track);
  if (id.ok()) {
    auto details = service::LoadTrack(**engine, *id);
    if (!details.ok()) return FailWith(details.status());
    path = details->track.key.path;
    stored = service::PlanTrackTags(*details, {});
  } else if (std::error_code ec; fs::is_regular_file(args.track, ec)) {
    path = args.track;
  } else {
    return FailWith(id.status());
  }
  auto fields = audio::ReadTagFields(path);
  if (!fields.ok()) return FailWith(fields.status());

  std::map<std::string, std::string> stored_upper;
  for (const auto& [name, value] : stored) {
    stored_upper[AsciiUpper(name)] = value;
  }
  nlohmann::json families{{"timbre", nlohmann::json::object()},
                          {"legacy", nlohmann::json::object()},
                          {"other", nlohmann::json::object()}};
  for (const auto& [name, value] : *fields) {
    const std::string family(TagFamily(name));
    nlohmann::json entry = value;
    if (family == "timbre" && id.ok()) {
      auto it = stored_upper.find(name);
      entry = {{"file", value},
               {"store",
                it == stored_upper.end() ? nlohmann::json(nullptr) : nlohmann::json(it->second)}};
    }
    families[family][DisplayName(name)] = entry;
  }
  if (args.json) {
    nlohmann::json j{{"path", SanitizeUtf8(path)}, {"tags", families}};
    if (id.ok()) j["track_id"] = *id;
    std::printf("%s\n", Dump(j, 2).c_str());
    return 0;
  }
  std::printf("%s\n", SanitizeUtf8(path).c_str());
  for (const char* family : {"timbre", "legacy", "other"}) {
    if (families[family].empty()) continue;
    std::printf("\n%s tags\n", family);
    for (const auto& [name, entry] : families[family].items()) {
      if (entry.is_object()) {
        const auto& store_value = entry["store"];
        const std::string file_value = entry["file"].get<std::string>();
        std::string note;
        if (store_value.is_null()) {
          note = "  (not in the store)";
        } else if (store_value.get<std::string>() != file_value) {
          note = "  (store: " + store_value.get<std::string>() + ")";
        }
        std::printf("  %-48s %s%s\n", name.c_str(), file_value.c_str(), note.c_str());
      } else {
        std::printf("  %-48s %s\n", name.c_str(), entry.get<std::string>().c_str());
      }
    }
  }
  return 0;
}

}  // namespace

void AddTagsCommands(CLI::App& app, GlobalOptions& global) {
  CLI::App* tags = app.add_subcommand(
      "tags", "Write timbre's results into the files' tags, or show the tags a file holds.");
  tags->require_subcommand(1);

  auto write = std::make_shared<WriteArgs>();
  CLI::App* w = tags->add_subcommand(
      "write",
      "Write BPM (TBPM), initial key (TKEY), ReplayGain track/album gain and peak, and nom: "
      "tags with a TIMBRE_PROVENANCE tag into MP3 (ID3v2.4), FLAC, Ogg Vorbis, Opus (Vorbis "
      "comments), M4A (MP4 atoms), WavPack, APE and Musepack (APE tags). The audio is never "
      "touched: each file is rewritten as a copy that replaces it by rename, and gets a new "
      "modification time so players re-read it; the store follows, so the next scan does "
      "not analyse it again. Files that changed since the scan are skipped.");
  w->add_option("targets", write->targets,
                "track ids, files or folders (default: every analysed track)");
  w->add_flag("--dry-run,-n", write->dry_run, "print what would change; write nothing");
  w->add_option("--only", write->only,
                "tag groups to write, comma-separated: bpm, key, replaygain, nom")
      ->capture_default_str();
  w->add_option("--key-notation", write->key_notation,
                "notation of the key tag: standard (Am, F#), camelot (8A), openkey (1m)")
      ->capture_default_str();
  w->add_flag("--json", write->json, "print the result as JSON");
  w->callback([write, &global] { global.exit_code = RunWrite(*write, global); });

  auto show = std::make_shared<ShowArgs>();
  CLI::App* s = tags->add_subcommand(
      "show",
      "Show a file's tags: timbre's own (beside what the store would write now), legacy "
      "analysis tags (essentia:*, AcousticBrainz-style ab:*), and the others.");
  s->add_option("track", show->track, "a track id or a file path")->required();
  s->add_flag("--json", show->json, "print JSON");
  s->callback([show, &global] { global.exit_code = RunShow(*show, global); });
}

}  // namespace timbre::cli
