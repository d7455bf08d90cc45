#include "timbre/service/tag_writing.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "timbre/analysis/registry.h"
#include "timbre/core/hash.h"
#include "timbre/core/text.h"
#include "timbre/service/engine.h"
#include "timbre/service/library.h"
#include "timbre/service/library_scan.h"

namespace timbre::service {
namespace {

// The outputs of built-in analyzers that go out as nom: tags, with their decimals; a text
// output (the key) has none.
struct NomOutput {
  const char* analyzer;
  const char* output;
  int decimals;  // -1: a text output
};
constexpr NomOutput kNomOutputs[] = {
    {"rhythm", "bpm", 2},     {"rhythm", "bpm_confidence", 3}, {"rhythm", "danceability", 3},
    {"tonal", "key", -1},     {"tonal", "key_strength", 3},    {"loudness", "integrated", 2},
    {"loudness", "range", 2},
};

// A namespace part: lower case ASCII, dots and underscores (the part separator) as hyphens.
std::string NomPart(std::string_view s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      out += static_cast<char>(std::tolower(u));
    } else if (c == '.' || c == '_' || c == '-' || c == ' ') {
      out += '-';
    }
  }
  return out;
}

// Stored results of one track, by analyzer and output name.
class TrackResults {
 public:
  explicit TrackResults(const store::TrackDetails& t) {
    for (const auto& d : t.descriptors) numbers_[{d.analyzer, d.name}] = d.value;
    for (const auto& x : t.texts) texts_[{x.analyzer, x.name}] = x.value;
    for (const auto& a : t.analyses) provenance_[a.provenance.analyzer] = &a.provenance;
  }
  std::optional<double> Number(const std::string& analyzer, const std::string& name) const {
    auto it = numbers_.find({analyzer, name});
    if (it == numbers_.end() || !std::isfinite(it->second)) return std::nullopt;
    return it->second;
  }
  const std::string* Text(const std::string& analyzer, const std::string& name) const {
    auto it = texts_.find({analyzer, name});
    return it == texts_.end() ? nullptr : &it->second;
  }
  const analysis::Provenance* Provenance(const std::string& analyzer) const {
    auto it = provenance_.find(analyzer);
    return it == provenance_.end() ? nullptr : it->second;
  }

 private:
  using Key = std::pair<std::string, std::string>;
  std::map<Key, double> numbers_;
  std::map<Key, std::string> texts_;
  std::map<std::string, const analysis::Provenance*> provenance_;
};

// timbre's nom: tags in the file that the plan no longer has (an older engine or analyzer
// version named them) are removed, so that a library never carries two answers.
// The same holds for the namespaces of the track's models (`model_prefixes`): a label that
// moved to another tier, or reaches none now, loses its old tag.
void RemoveStaleNomTags(const audio::TagFields& held,
                        const std::vector<std::string>& model_prefixes, audio::TagFields& fields) {
  std::set<std::string> planned;
  for (const auto& [name, value] : fields) planned.insert(AsciiUpper(name));
  std::vector<std::string> owned{"NOM:TIMBRE_"};
  for (const auto& p : model_prefixes) owned.push_back(AsciiUpper(p));
  for (const auto& [name, value] : held) {
    const std::string upper = AsciiUpper(name);
    const bool ours = std::any_of(owned.begin(), owned.end(),
                                  [&](const std::string& p) { return upper.rfind(p, 0) == 0; });
    if (ours && !planned.count(upper)) fields[AsciiLower(name)] = "";
  }
}

// Tag namespaces of the track's model analyses.
std::vector<std::string> ModelTagPrefixes(const store::TrackDetails& track) {
  std::vector<std::string> out;
  for (const auto& t : track.texts) {
    if (t.analyzer.starts_with("model:") && t.name.ends_with(".tag_prefix")) out.push_back(t.value);
  }
  return out;
}

}  // namespace

Result<unsigned> ParseTagGroups(std::string_view list) {
  unsigned groups = 0;
  std::stringstream ss{std::string(list)};
  std::string item;
  while (std::getline(ss, item, ',')) {
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (item == "bpm") {
      groups |= kTagBpm;
    } else if (item == "key") {
      groups |= kTagKey;
    } else if (item == "replaygain") {
      groups |= kTagReplayGain;
    } else if (item == "nom") {
      groups |= kTagNom;
    } else {
      return InvalidArgument(
          fmt::format("unknown tag group '{}': choose from bpm, key, replaygain, nom", item));
    }
  }
  if (groups == 0)
    return InvalidArgument("no tag group given: choose from bpm, key, replaygain, nom");
  return groups;
}

Result<KeyNotation> ParseKeyNotation(std::string_view name) {
  if (name == "standard") return KeyNotation::kStandard;
  if (name == "camelot") return KeyNotation::kCamelot;
  if (name == "openkey") return KeyNotation::kOpenKey;
  return InvalidArgument(
      fmt::format("unknown key notation '{}': choose standard, camelot or openkey", name));
}

std::string FormatKey(int tonic, bool minor, KeyNotation notation) {
  static constexpr const char* kNames[12] = {"C",  "Db", "D",  "Eb", "E",  "F",
                                             "F#", "G",  "Ab", "A",  "Bb", "B"};
  tonic = ((tonic % 12) + 12) % 12;
  if (notation == KeyNotation::kStandard) return std::string(kNames[tonic]) + (minor ? "m" : "");
  // Both wheels follow the circle of fifths; a minor key sits beside its relative major.
  const int major = minor ? (tonic + 3) % 12 : tonic;
  const int fifths = (7 * major) % 12;  // steps from C around the circle
  if (notation == KeyNotation::kCamelot) {
    return fmt::format("{}{}", (fifths + 7) % 12 + 1, minor ? 'A' : 'B');
  }
  return fmt::format("{}{}", fifths + 1, minor ? 'm' : 'd');
}

std::string NomTagName(const analysis::Provenance& provenance, std::string_view output) {
  return fmt::format("nom:timbre_dsp_{}_{}_v{}_{}", NomPart(provenance.engine_version),
                     NomPart(provenance.analyzer), provenance.analyzer_version, output);
}

audio::TagFields PlanTrackTags(const store::TrackDetails& track, const TagPlanOptions& options) {
  const TrackResults results(track);
  audio::TagFields fields;
  std::vector<const analysis::Provenance*> sources;
  auto used = [&](const std::string& analyzer) {
    const auto* p = results.Provenance(analyzer);
    if (p != nullptr && std::find(sources.begin(), sources.end(), p) == sources.end()) {
      sources.push_back(p);
    }
  };

  if (options.groups & kTagBpm) {
    if (auto bpm = results.Number("rhythm", "bpm"); bpm && *bpm > 0) {
      fields["BPM"] = fmt::format("{}", std::lround(*bpm));  // TBPM and tmpo hold whole numbers
      used("rhythm");
    }
  }
  if (options.groups & kTagKey) {
    auto tonic = results.Number("tonal", "key_tonic");
    auto minor = results.Number("tonal", "key_minor");
    if (tonic && minor) {
      fields["INITIALKEY"] =
          FormatKey(static_cast<int>(std::lround(*tonic)), *minor > 0.5, options.key_notation);
      used("tonal");
    }
  }
  if (options.groups & kTagReplayGain) {
    const std::string album = analysis::kAlbumLoudnessAnalyzer;
    auto gain = [&](const char* name, const std::string& analyzer, const char* output) {
      if (auto v = results.Number(analyzer, output)) {
        fields[name] = fmt::format("{:.2f} dB", *v);
        used(analyzer);
      }
    };
    auto peak = [&](const char* name, const std::string& analyzer, const char* output) {
      if (auto v = results.Number(analyzer, output)) {
        fields[name] = fmt::format("{:.6f}", *v);
        used(analyzer);
      }
    };
    gain("REPLAYGAIN_TRACK_GAIN", "loudness", "replaygain_track_gain");
    peak("REPLAYGAIN_TRACK_PEAK", "loudness", "replaygain_track_peak");
    gain("REPLAYGAIN_ALBUM_GAIN", album, "replaygain_album_gain");
    peak("REPLAYGAIN_ALBUM_PEAK", album, "replaygain_album_peak");
  }
  if (options.groups & kTagNom) {
    for (const auto& o : kNomOutputs) {
      const auto* p = results.Provenance(o.analyzer);
      if (p == nullptr) continue;
      if (o.decimals < 0) {
        if (const auto* text = results.Text(o.analyzer, o.output)) {
          fields[NomTagName(*p, o.output)] = *text;
          used(o.analyzer);
        }
      } else if (auto v = results.Number(o.analyzer, o.output)) {
        fields[NomTagName(*p, o.output)] = fmt::format("{:.{}f}", *v, o.decimals);
        used(o.analyzer);
      }
    }
  }
  if (options.groups & kTagNom) {
    // Model tags: `<namespace>_<label>_<tier>` = the label's mean score.
    for (const auto& t : track.tags) {
      if (!t.name.starts_with("nom:") || t.value.empty()) continue;
      fields[t.name + "_" + t.value] = fmt::format("{:.3f}", t.score);
      if (!t.analyzer.empty()) used(t.analyzer);
    }
  }
  if (fields.empty()) return fields;

  // Provenance, short: engine, then each source analyzer with version and parameters hash.
  std::sort(sources.begin(), sources.end(),
            [](const auto* a, const auto* b) { return a->analyzer < b->analyzer; });
  std::string provenance = fmt::format("timbre {}", sources.front()->engine_version);
  for (const auto* p : sources) {
    // Models are named by the start of each file's sha256, DSP analyzers by their parameters.
    std::string build = p->params_hash.substr(0, 8);
    if (!p->model_sha256.empty()) {
      build.clear();
      std::stringstream shas(p->model_sha256);
      std::string sha;
      while (std::getline(shas, sha, ',')) build += (build.empty() ? "" : "+") + sha.substr(0, 8);
    }
    provenance += fmt::format("; {} v{} {}", p->analyzer, p->analyzer_version, build);
  }
  fields["TIMBRE_PROVENANCE"] = provenance;
  return fields;
}

Result<TrackTagOutcome> WriteTrackTags(store::Store& store, int64_t track_id,
                                       const TagPlanOptions& options, bool dry_run) {
  auto details = store.GetTrack(track_id);
  if (!details.ok()) return details.status();
  if (!details->has_value()) return NotFound(fmt::format("no track with id {}", track_id));
  const store::TrackDetails& track = **details;
  TrackTagOutcome out;
  out.track_id = track_id;
  out.path = track.track.key.path;
  if (track.track.key.status != store::TrackStatus::kOk) {
    out.status = InvalidArgument(fmt::format("track {} has no results to write ({})", track_id,
                                             store::TrackStatusName(track.track.key.status)))
                     .WithReason("no_results");
    return out;
  }
  audio::TagFields fields = PlanTrackTags(track, options);
  if (fields.empty()) return out;

  // The file must still be the one analysed: tags computed from other audio are wrong.
  struct stat st {};
  if (::stat(out.path.c_str(), &st) != 0) {
    out.status = NotFound(fmt::format("{} is no longer there", out.path)).WithReason("missing");
    return out;
  }
  if (st.st_size != track.track.key.size || MtimeNs(st) != track.track.key.mtime_ns) {
    out.status = InvalidArgument(
                     fmt::format("{} changed since it was scanned: scan it again first", out.path))
                     .WithReason("changed_since_scan");
    return out;
  }

  if (options.groups & kTagNom) {
    if (auto held = audio::ReadTagFields(out.path); held.ok())
      RemoveStaleNomTags(*held, ModelTagPrefixes(track), fields);
  }

  if (dry_run) {
    auto plan = audio::PlanTagChanges(out.path, fields);
    if (plan.ok()) {
      out.changes = std::move(plan).value();
    } else {
      out.status = plan.status();
    }
    return out;
  }
  auto written = audio::WriteTagFields(out.path, fields);
  if (!written.ok()) {
    out.status = written.status();
    return out;
  }
  out.changes = std::move(written).value();
  if (out.changes.empty()) return out;
  // Written; if the file cannot be read back now, the next scan simply analyses it again.
  auto hash = HashFileContent(out.path);
  if (!hash.ok() || ::stat(out.path.c_str(), &st) != 0) return out;
  TIMBRE_RETURN_IF_ERROR(store.RecordRewrite(track_id, st.st_size, MtimeNs(st), *hash));
  return out;
}

Result<std::vector<int64_t>> TagTargets(Engine& engine, const std::vector<std::string>& targets) {
  namespace fs = std::filesystem;
  auto keys = engine.store().ListTrackKeys();
  if (!keys.ok()) return keys.status();
  std::vector<int64_t> ids;
  auto add_under = [&](const std::string& folder) {
    const std::string prefix = folder.back() == '/' ? folder : folder + "/";
    for (const auto& k : *keys) {
      if (k.status == store::TrackStatus::kOk && k.path.rfind(prefix, 0) == 0) ids.push_back(k.id);
    }
  };
  if (targets.empty()) add_under("/");
  for (const auto& t : targets) {
    std::error_code ec;
    if (fs::is_directory(t, ec)) {
      add_under(fs::absolute(t, ec).lexically_normal().string());
      continue;
    }
    auto id = ResolveTrack(engine, t);
    if (!id.ok()) return id.status();
    ids.push_back(*id);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace timbre::service
