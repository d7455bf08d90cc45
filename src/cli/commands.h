// The timbre subcommands. Each Add*Command registers its options on the CLI11 app and
// runs when selected; exit codes: 0 done, 1 failed, 2 bad usage or input.
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "timbre/core/status.h"
#include "timbre/store/store.h"

namespace timbre::cli {

struct GlobalOptions {
  std::string db;  // store URL; empty: $TIMBRE_DB, then the embedded default
  int exit_code = 0;
};

void AddScanCommand(CLI::App& app, GlobalOptions& global);
void AddShowCommand(CLI::App& app, GlobalOptions& global);
void AddStatsCommand(CLI::App& app, GlobalOptions& global);
void AddAnalyzersCommand(CLI::App& app, GlobalOptions& global);
void AddEvalCommand(CLI::App& app, GlobalOptions& global);
void AddSimilarityCommands(CLI::App& app, GlobalOptions& global);  // similar, mix, path
void AddDuplicatesCommand(CLI::App& app, GlobalOptions& global);
void AddIndexCommand(CLI::App& app, GlobalOptions& global);
void AddTagsCommands(CLI::App& app, GlobalOptions& global);  // tags write, tags show
void AddExportCommand(CLI::App& app, GlobalOptions& global);
void AddServeCommand(CLI::App& app, GlobalOptions& global);
void AddJobsCommands(CLI::App& app, GlobalOptions& global);    // jobs list, show, cancel
void AddModelsCommands(CLI::App& app, GlobalOptions& global);  // list, verify, show, import
void AddNotesCommand(CLI::App& app, GlobalOptions& global);

// JSON text that never throws on file names with invalid UTF-8.
std::string Dump(const nlohmann::json& j, int indent = -1);

// The store URL from --db, $TIMBRE_DB or the default.
std::string StoreUrl(const GlobalOptions& global);

// A track named by its id, or by a path (relative paths resolve against the current folder).
// A number that is also an existing file's name is taken as the file.
Result<int64_t> ResolveTrack(store::Store& store, const std::string& arg);

// Everything stored about the track `arg` names (as ResolveTrack takes it); NotFound when the
// store has no such track.
Result<store::TrackDetails> LoadTrack(store::Store& store, const std::string& arg);

// Prints a failed status and returns its exit code: 2 when the input was at fault, else 1.
int FailWith(const Status& status);

// Prints "timbre: message" to stderr and returns the exit code for it.
int Fail(const std::string& message, int code = 1);

}  // namespace timbre::cli
