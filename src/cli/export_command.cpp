// timbre export: descriptors, file tags and provenance of a selection of tracks, as JSON
// (one object per track, as `show --json` prints it) or CSV (one row per track, one column
// per scalar output).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "commands.h"
#include "timbre/core/paths.h"
#include "timbre/service/library.h"
#include "timbre/store/json_views.h"

namespace timbre::cli {
namespace {

struct ExportArgs {
  std::string format = "json";
  std::string where;
  std::string output;  // empty: stdout
};

// RFC 4180: quoted when it holds a comma, quote or line break; quotes doubled.
std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string Number(double v) { return fmt::format("{:.6g}", v); }

// Text outputs short enough for a cell (the key); long ones (beat lists, chroma) stay in JSON.
constexpr size_t kCsvTextLimit = 64;

void WriteCsv(std::ostream& out, const std::vector<store::TrackDetails>& tracks) {
  std::set<std::string> numbers, texts;
  for (const auto& t : tracks) {
    for (const auto& d : t.descriptors) numbers.insert(d.analyzer + "." + d.name);
    for (const auto& x : t.texts) {
      if (x.value.size() <= kCsvTextLimit) texts.insert(x.analyzer + "." + x.name);
    }
  }
  std::vector<std::string> header = {"id",    "path",  "title",    "artist",
                                     "album", "genre", "duration", "content_hash"};
  header.insert(header.end(), numbers.begin(), numbers.end());
  header.insert(header.end(), texts.begin(), texts.end());
  header.push_back("provenance");
  for (size_t i = 0; i < header.size(); ++i) out << (i ? "," : "") << CsvField(header[i]);
  out << "\r\n";

  for (const auto& t : tracks) {
    std::map<std::string, std::string> cells;
    for (const auto& d : t.descriptors) cells[d.analyzer + "." + d.name] = Number(d.value);
    for (const auto& x : t.texts) cells[x.analyzer + "." + x.name] = x.value;
    std::string provenance;
    for (const auto& a : t.analyses) {
      const auto& p = a.provenance;
      if (!provenance.empty()) provenance += "; ";
      provenance += fmt::format("{} v{} {} (timbre {})", p.analyzer, p.analyzer_version,
                                p.params_hash.substr(0, 8), p.engine_version);
    }
    const auto& r = t.track;
    std::vector<std::string> row = {std::to_string(r.key.id),
                                    SanitizeUtf8(r.key.path),
                                    r.tags.title,
                                    r.tags.artist,
                                    r.tags.album,
                                    r.tags.genre,
                                    Number(r.duration),
                                    r.key.content_hash};
    for (size_t i = row.size(); i + 1 < header.size(); ++i) row.push_back(cells[header[i]]);
    row.push_back(provenance);
    for (size_t i = 0; i < row.size(); ++i) out << (i ? "," : "") << CsvField(row[i]);
    out << "\r\n";
  }
}

int RunExport(const ExportArgs& args, const GlobalOptions& global) {
  if (args.format != "json" && args.format != "csv") {
    return Fail(fmt::format("unknown format '{}': choose json or csv", args.format), 2);
  }
  auto engine = OpenEngine(global);
  if (!engine.ok()) return FailWith(engine.status());
  auto selected = service::TracksInFull(**engine, args.where);
  if (!selected.ok()) return FailWith(selected.status());
  const std::vector<store::TrackDetails>& tracks = *selected;

  // Into a file: written beside it first, renamed when complete, so a failed export
  // never leaves half a file under the name asked for.
  std::ofstream file;
  const std::string partial = args.output + ".partial";
  if (!args.output.empty()) {
    file.open(partial, std::ios::binary | std::ios::trunc);
    if (!file) return Fail(fmt::format("cannot write {}", args.output));
  }
  std::ostream& out = args.output.empty() ? std::cout : file;
  if (args.format == "csv") {
    WriteCsv(out, tracks);
  } else {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& t : tracks) list.push_back(store::TrackJson(t));
    out << Dump(list, 2) << "\n";
  }
  out.flush();
  if (!out) return Fail(fmt::format("writing the export failed (disk full?)"));
  if (!args.output.empty()) {
    file.close();
    std::error_code ec;
    std::filesystem::rename(partial, args.output, ec);
    if (ec) return Fail(fmt::format("cannot write {}: {}", args.output, ec.message()));
    std::fprintf(stderr, "exported %zu tracks to %s\n", tracks.size(), args.output.c_str());
  }
  return 0;
}

}  // namespace

void AddExportCommand(CLI::App& app, GlobalOptions& global) {
  auto args = std::make_shared<ExportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "export",
      "Export the analysed tracks (or those matching --where): file tags, every descriptor "
      "and each analysis's provenance. JSON gives one object per track as `show --json` "
      "does; CSV one row per track with a column per scalar output.");
  cmd->add_option("--format,-f", args->format, "json or csv")->capture_default_str();
  cmd->add_option("--where", args->where,
                  "only tracks matching, e.g. \"bpm >= 120 and key = 'A minor'\" (see "
                  "docs/similarity.md)");
  cmd->add_option("--output,-o", args->output, "write to this file instead of stdout");
  cmd->callback([args, &global] { global.exit_code = RunExport(*args, global); });
}

}  // namespace timbre::cli
