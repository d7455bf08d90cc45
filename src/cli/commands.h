// The timbre subcommands. Each Add*Command registers its options on the CLI11 app and, when
// selected, opens an engine (service/engine.h), calls the use case and prints the result.
// Exit codes: 0 done, 1 failed, 2 bad usage or input (core/status.h's table).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "timbre/core/config.h"
#include "timbre/core/status.h"
#include "timbre/service/engine.h"

namespace timbre::cli {

// A flag that sets a setting (core/config.h); it overrides the file and environment only when
// given on the command line.
struct SettingFlag {
  std::string key;
  std::string name;  // "--port"
  std::vector<std::string> values;
  std::string fixed;  // a switch's value ("false" for --no-models); empty for options
  CLI::Option* option = nullptr;
};

struct GlobalOptions {
  std::string config_file;        // --config; empty: the default path, if the file exists
  std::deque<SettingFlag> flags;  // stable addresses: CLI11 writes into them
  int exit_code = 0;
};

// Adds an option that sets `key`; its help shows the setting's description, default and
// environment variable unless `help` is given.
CLI::Option* AddSettingOption(CLI::App* cmd, GlobalOptions& global, const std::string& names,
                              std::string_view key, const std::string& help = "");
// Adds a flag that sets `key` to `value` when given (e.g. --no-models: models.enabled=false).
CLI::Option* AddSettingSwitch(CLI::App* cmd, GlobalOptions& global, const std::string& names,
                              std::string_view key, std::string_view value,
                              const std::string& help);
// The model options shared by the commands that run analyzers.
void AddModelOptions(CLI::App* cmd, GlobalOptions& global);

// The configuration: defaults, the file, the environment, then the flags given.
Result<Config> ResolveConfig(const GlobalOptions& global);
// An engine over the resolved configuration.
Result<std::unique_ptr<service::Engine>> OpenEngine(
    const GlobalOptions& global, service::EngineRole role = service::EngineRole::kCommand);
// An engine without a store, for commands about models and analyzers.
Result<std::unique_ptr<service::Engine>> OpenEngineWithoutStore(const GlobalOptions& global);

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
void AddWorkerCommand(CLI::App& app, GlobalOptions& global);  // jobs only, no HTTP
void AddJobsCommands(CLI::App& app, GlobalOptions& global);    // jobs list, show, cancel
void AddModelsCommands(CLI::App& app, GlobalOptions& global);  // list, verify, show, import
void AddNotesCommand(CLI::App& app, GlobalOptions& global);
void AddConfigCommand(CLI::App& app, GlobalOptions& global);  // config show
void AddGcCommand(CLI::App& app, GlobalOptions& global);

// JSON text that never throws on file names with invalid UTF-8.
std::string Dump(const nlohmann::json& j, int indent = -1);

// Prints a failed status and returns its exit code (InfoOf(code).exit_code).
int FailWith(const Status& status);

// Prints "timbre: message" to stderr and returns the exit code for it.
int Fail(const std::string& message, int code = 1);

}  // namespace timbre::cli
