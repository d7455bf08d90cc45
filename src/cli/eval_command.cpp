// timbre eval TRUTH.csv: tempo and key accuracy of the stored descriptors (or of another
// tool's estimates) against ground truth, e.g. the development corpus's truth.csv.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include "commands.h"
#include "timbre/analysis/evaluation.h"
#include "timbre/store/store.h"

namespace timbre::cli {
namespace {

struct EvalArgs {
  std::string truth;
  std::string estimates;
  std::string label = "timbre";
  bool json = false;
  double min_accuracy1 = 0;
  double min_accuracy2 = 0;
  double min_key = 0;
};

using Row = std::map<std::string, std::string>;

// A CSV with a header row and no quoted commas (the corpus format), keyed by `file`.
Result<std::vector<Row>> ReadCsv(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(fmt::format("cannot read {}", path));
  std::string line;
  if (!std::getline(in, line)) return InvalidArgument(fmt::format("{} is empty", path));
  auto split = [](const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string cell; std::getline(ss, cell, ',');) {
      if (!cell.empty() && cell.back() == '\r') cell.pop_back();
      out.push_back(cell);
    }
    return out;
  };
  const auto header = split(line);
  bool has_file = false;
  for (const auto& h : header) has_file = has_file || h == "file";
  if (!has_file) return InvalidArgument(fmt::format("{} has no 'file' column", path));
  std::vector<Row> rows;
  for (int n = 2; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    const auto cells = split(line);
    if (cells.size() > header.size()) {
      return InvalidArgument(
          fmt::format("{}:{}: {} cells for {} columns", path, n, cells.size(), header.size()));
    }
    Row row;
    for (size_t i = 0; i < cells.size(); ++i) row[header[i]] = cells[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

std::optional<double> Number(const std::string& s) {
  try {
    size_t used = 0;
    const double v = std::stod(s, &used);
    if (used == s.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

int RunEval(const EvalArgs& args, const GlobalOptions& global) {
  auto truth = ReadCsv(args.truth);
  if (!truth.ok()) return Fail(truth.status().message(), 2);
  const auto base = std::filesystem::absolute(args.truth).parent_path();
  auto resolve = [&](const std::string& file) { return (base / file).lexically_normal().string(); };

  // Estimates by absolute path: from a CSV, or from the store.
  std::map<std::string, Row> estimates;
  std::unique_ptr<service::Engine> engine;
  store::Store* store = nullptr;
  if (!args.estimates.empty()) {
    auto rows = ReadCsv(args.estimates);
    if (!rows.ok()) return Fail(rows.status().message(), 2);
    const auto est_base = std::filesystem::absolute(args.estimates).parent_path();
    for (auto& r : *rows) estimates[(est_base / r["file"]).lexically_normal().string()] = r;
  } else {
    auto opened = OpenEngine(global);
    if (!opened.ok()) return FailWith(opened.status());
    engine = std::move(opened).value();
    store = &engine->store();
  }

  // Each figure is over the files whose truth has that value: a truth without tempos scores
  // keys only. A file whose estimate lacks the value counts as a miss.
  size_t n = 0, missing = 0, acc1 = 0, acc2 = 0, timed = 0, keyed = 0;
  std::map<std::string, double> key_scores;  // output name → summed MIREX score
  for (const auto& t : *truth) {
    const auto truth_bpm = Number(t.count("bpm") ? t.at("bpm") : "");
    const auto truth_key = analysis::ParseKey(t.count("key") ? t.at("key") : "");
    const std::string path = resolve(t.at("file"));
    Row est;
    if (store) {
      auto id = store->FindTrackId(path);
      if (!id.ok()) return Fail(id.status().message());
      if (!*id) {
        ++missing;
        continue;
      }
      auto d = store->GetTrack(**id);
      if (!d.ok() || !*d) return Fail("cannot read track " + path);
      for (const auto& v : (*d)->descriptors) {
        if (v.analyzer == "rhythm" && v.name == "bpm") est["bpm"] = fmt::format("{}", v.value);
      }
      for (const auto& v : (*d)->texts) {
        if (v.analyzer == "tonal" && v.name.starts_with("key")) est[v.name] = v.value;
      }
    } else {
      auto it = estimates.find(path);
      if (it == estimates.end()) {
        ++missing;
        continue;
      }
      est = it->second;
    }
    ++n;
    const auto bpm = Number(est.count("bpm") ? est["bpm"] : "");
    if (truth_bpm) ++timed;
    if (truth_bpm && bpm) {
      acc1 += analysis::TempoAccuracy1(*bpm, *truth_bpm);
      acc2 += analysis::TempoAccuracy2(*bpm, *truth_bpm);
    }
    if (truth_key) {
      ++keyed;
      for (const auto& [name, value] : est) {
        if (!name.starts_with("key")) continue;
        auto k = analysis::ParseKey(value);
        key_scores[name] += k ? analysis::MirexKeyScore(*k, *truth_key) : 0.0;
      }
    }
  }
  if (n == 0)
    return Fail(
        fmt::format("none of the {} files in {} has an estimate", truth->size(), args.truth), 2);
  const double a1 = timed > 0 ? static_cast<double>(acc1) / timed : 0.0;
  const double a2 = timed > 0 ? static_cast<double>(acc2) / timed : 0.0;
  const double key = keyed > 0 && key_scores.count("key") ? key_scores["key"] / keyed : 0.0;
  if (args.json) {
    nlohmann::json j{{"label", args.label},
                     {"files", n},
                     {"missing", missing},
                     {"bpm_accuracy1", timed > 0 ? nlohmann::json(a1) : nlohmann::json()},
                     {"bpm_accuracy2", timed > 0 ? nlohmann::json(a2) : nlohmann::json()}};
    if (keyed > 0) {
      for (const auto& [name, sum] : key_scores) j["mirex_" + name] = sum / keyed;
    }
    std::printf("%s\n", Dump(j).c_str());
  } else {
    std::printf("%-14s %6s %9s %9s", "", "files", "BPM acc1", "BPM acc2");
    for (const auto& [name, sum] : key_scores)
      std::printf(" %*s", static_cast<int>(std::max<size_t>(9, name.size() + 6)),
                  ("MIREX " + name).c_str());
    std::printf("\n%-14s %6zu", args.label.c_str(), n);
    if (timed > 0) {
      std::printf(" %9.3f %9.3f", a1, a2);
    } else {
      std::printf(" %9s %9s", "-", "-");  // the truth has no tempos
    }
    for (const auto& [name, sum] : key_scores)
      std::printf(" %*.3f", static_cast<int>(std::max<size_t>(9, name.size() + 6)), sum / keyed);
    std::printf("\n");
    if (missing > 0) std::printf("(%zu files of the truth had no estimate)\n", missing);
  }
  // A guard on a figure the truth cannot give fails rather than passing unchecked.
  const bool below = a1 < args.min_accuracy1 || a2 < args.min_accuracy2 || key < args.min_key;
  if (below) {
    std::fprintf(stderr,
                 "timbre: below the required figures (acc1 %.3f >= %.3f, acc2 %.3f >= %.3f, key "
                 "%.3f >= %.3f)\n",
                 a1, args.min_accuracy1, a2, args.min_accuracy2, key, args.min_key);
    return 1;
  }
  return 0;
}

}  // namespace

void AddEvalCommand(CLI::App& app, GlobalOptions& global) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand(
      "eval",
      "Score tempo and key against ground truth: BPM Accuracy1 (within 4 %), Accuracy2 (also "
      "x2, x1/2, x3, x1/3) and the MIREX key score. TRUTH.csv needs columns file (relative to "
      "the CSV), bpm and key (\"Eb minor\"). Scans must have been run first.");
  cmd->add_option("truth", args->truth, "ground-truth CSV")->required();
  cmd->add_option(
      "--estimates", args->estimates,
      "score this CSV (file,bpm[,key]) instead of the store, e.g. another tool's output");
  cmd->add_option("--label", args->label, "name of the row in the table");
  cmd->add_flag("--json", args->json, "print JSON");
  cmd->add_option("--min-accuracy1", args->min_accuracy1, "exit 1 when Accuracy1 is lower");
  cmd->add_option("--min-accuracy2", args->min_accuracy2, "exit 1 when Accuracy2 is lower");
  cmd->add_option("--min-key", args->min_key, "exit 1 when the MIREX key score is lower");
  cmd->callback([args, &global] { global.exit_code = RunEval(*args, global); });
}

}  // namespace timbre::cli
