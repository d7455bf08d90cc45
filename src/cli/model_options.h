// The model options shared by the commands that analyse audio (scan, serve), and the set-up
// they lead to.
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "timbre/analysis/model_analyzers.h"
#include "timbre/analysis/registry.h"

namespace timbre::cli {

struct ModelArgs {
  std::string dir;  // empty: the default folder
  bool none = false;
  size_t memory_mb = 2048;
  size_t batch = 16;
  int threads = 1;
};

void AddModelOptions(CLI::App* cmd, ModelArgs& args);

// Adds the models folder's analyzers to `registry` (none with --no-models), printing why
// any model was left out unless `quiet`. Null when there is nothing to keep alive.
Result<std::unique_ptr<analysis::ModelSetup>> SetUpModels(const ModelArgs& args,
                                                          analysis::Registry& registry, bool quiet);

}  // namespace timbre::cli
