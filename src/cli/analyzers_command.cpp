// timbre analyzers: the analyzer contracts (the same metadata provenance is filled from).
#include <cstdio>
#include <memory>

#include "commands.h"
#include "model_options.h"
#include "timbre/analysis/model_analyzers.h"
#include "timbre/analysis/registry.h"

namespace timbre::cli {
namespace {

int RunAnalyzers(bool json, const ModelArgs& model_args) {
  analysis::Registry registry;
  analysis::RegisterBuiltinAnalyzers(registry);
  auto models = SetUpModels(model_args, registry, false);
  if (!models.ok()) return FailWith(models.status());
  // Why `notes` is absent, with the command that installs its model.
  const std::string missing = *models ? (*models)->notes_missing : "";
  nlohmann::json all = nlohmann::json::array();
  for (const analysis::Analyzer* a : registry.All()) {
    const auto& info = a->info();
    if (!json) {
      std::printf("%s v%d: %s\n  reads: %s at %s, %s\n", info.name.c_str(), info.version,
                  info.description.c_str(), info.window.c_str(),
                  info.view.sample_rate == 0
                      ? "native rate"
                      : (std::to_string(info.view.sample_rate) + " Hz").c_str(),
                  info.view.channels == 1 ? "mono" : "native channels");
      for (const auto& p : info.params) {
        std::printf("  param  %-22s default %g, range [%g, %g] %s: %s\n", p.name.c_str(),
                    p.default_value, p.min, p.max, p.unit.c_str(), p.description.c_str());
      }
      for (const auto& o : info.outputs) {
        std::printf("  output %-22s %-6s %s\n", o.name.c_str(), o.unit.c_str(),
                    o.description.c_str());
      }
      continue;
    }
    nlohmann::json params = nlohmann::json::array();
    for (const auto& p : info.params) {
      params.push_back({{"name", p.name},
                        {"default", p.default_value},
                        {"min", p.min},
                        {"max", p.max},
                        {"unit", p.unit},
                        {"description", p.description}});
    }
    nlohmann::json outputs = nlohmann::json::array();
    for (const auto& o : info.outputs) {
      outputs.push_back({{"name", o.name},
                         {"unit", o.unit},
                         {"description", o.description},
                         {"type", o.text ? "text" : "number"}});
    }
    all.push_back(
        {{"name", info.name},
         {"version", info.version},
         {"description", info.description},
         {"view", {{"sample_rate", info.view.sample_rate}, {"channels", info.view.channels}}},
         {"window", info.window},
         {"params", params},
         {"outputs", outputs}});
  }
  if (!missing.empty()) {
    if (json) {
      all.push_back({{"name", "notes"}, {"installed", false}, {"description", missing}});
    } else {
      std::printf("%s\n", missing.c_str());
    }
  }
  if (json) std::printf("%s\n", Dump(all, 2).c_str());
  return 0;
}

}  // namespace

void AddAnalyzersCommand(CLI::App& app, GlobalOptions& global) {
  auto json = std::make_shared<bool>(false);
  auto model_args = std::make_shared<ModelArgs>();
  CLI::App* cmd = app.add_subcommand(
      "analyzers",
      "List the analyzers (built-in, and those of the models folder): version, audio they "
      "read, parameters, outputs.");
  cmd->add_flag("--json", *json, "print JSON");
  AddModelOptions(cmd, *model_args);
  cmd->callback(
      [json, model_args, &global] { global.exit_code = RunAnalyzers(*json, *model_args); });
}

}  // namespace timbre::cli
