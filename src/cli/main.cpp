// timbre: a self-hosted AI engine for music libraries.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>

#include <fmt/format.h>

#include "commands.h"
#include "timbre/core/version.h"

namespace timbre::cli {

std::string Dump(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

int FailWith(const Status& status) {
  return Fail(status.message(), InfoOf(status.code()).exit_code);
}

int Fail(const std::string& message, int code) {
  std::fprintf(stderr, "timbre: %s\n", message.c_str());
  return code;
}

}  // namespace timbre::cli

int main(int argc, char** argv) {
  using namespace timbre::cli;
  // A write past a file-size limit fails with EFBIG, reported like a full disk, instead of
  // killing the process halfway through a tag write.
  std::signal(SIGXFSZ, SIG_IGN);
  auto logger = spdlog::stderr_color_mt("timbre");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("timbre: %l: %v");
  spdlog::set_level(spdlog::level::warn);

  CLI::App app{
      "timbre: analyse a music library (tempo, key, loudness, ReplayGain, timbre, fingerprints) "
      "into a local database, find similar tracks, write tags for players, and serve it all "
      "over HTTP.\n\nState lives in $XDG_DATA_HOME/timbre/timbre.db unless --db or $TIMBRE_DB "
      "points elsewhere. Settings come from $XDG_CONFIG_HOME/timbre/config.toml (or --config), "
      "the environment and flags: `timbre config show` lists them."};
  app.set_version_flag("--version", std::string("timbre ") + timbre::kEngineVersion);
  app.require_subcommand(1);
  app.fallthrough();  // global options (--db, -v) may also follow the subcommand
  GlobalOptions global;
  AddSettingOption(&app, global, "--db", "store.db",
                   "database: a SQLite file path (default: $TIMBRE_DB, else "
                   "$XDG_DATA_HOME/timbre/timbre.db)");
  app.add_option("--config", global.config_file,
                 "configuration file (default: $XDG_CONFIG_HOME/timbre/config.toml, if present)");
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "log more detail to stderr");
  app.parse_complete_callback([&] {
    if (verbose) spdlog::set_level(spdlog::level::debug);
  });

  AddScanCommand(app, global);
  AddShowCommand(app, global);
  AddStatsCommand(app, global);
  AddAnalyzersCommand(app, global);
  AddEvalCommand(app, global);
  AddSimilarityCommands(app, global);
  AddDuplicatesCommand(app, global);
  AddIndexCommand(app, global);
  AddTagsCommands(app, global);
  AddExportCommand(app, global);
  AddServeCommand(app, global);
  AddWorkerCommand(app, global);
  AddJobsCommands(app, global);
  AddModelsCommands(app, global);
  AddNotesCommand(app, global);
  AddConfigCommand(app, global);
  AddGcCommand(app, global);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  return global.exit_code;
}
