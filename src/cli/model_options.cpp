#include "model_options.h"

#include <cstdio>

#include "timbre/models/registry.h"

namespace timbre::cli {

void AddModelOptions(CLI::App* cmd, ModelArgs& args) {
  cmd->add_option("--models", args.dir,
                  "models folder (default: $TIMBRE_MODELS, else $XDG_DATA_HOME/timbre/models)");
  cmd->add_flag("--no-models", args.none, "run no neural models, only the built-in analyzers");
  cmd->add_option("--model-memory", args.memory_mb, "MiB of loaded models to keep")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 20));
  cmd->add_option("--model-batch", args.batch, "patches per forward pass")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{4096}));
  cmd->add_option("--model-threads", args.threads,
                  "threads of each forward pass (scans already run a track per thread)")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
}

Result<std::unique_ptr<analysis::ModelSetup>> SetUpModels(const ModelArgs& args,
                                                          analysis::Registry& registry,
                                                          bool quiet) {
  if (args.none) return std::unique_ptr<analysis::ModelSetup>();
  analysis::ModelSetupOptions options;
  options.dir = args.dir.empty() ? models::DefaultModelsDir() : std::filesystem::path(args.dir);
  options.memory_budget_mb = args.memory_mb;
  options.threads = args.threads;
  options.run.batch = args.batch;
  auto setup = analysis::AddModelAnalyzers(options, registry);
  if (!setup.ok()) return setup.status();
  if (!quiet) {
    for (const auto& w : (*setup)->warnings) {
      std::fprintf(stderr, "timbre: warning: %s\n", w.c_str());
    }
  }
  return setup;
}

}  // namespace timbre::cli
