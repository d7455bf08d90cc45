// timbre analyzers: the analyzer contracts (the same metadata provenance is filled from).
#include <cstdio>
#include <memory>

#include "commands.h"
#include "timbre/service/catalog.h"

namespace timbre::cli {
namespace {

int RunAnalyzers(bool json, const GlobalOptions& global) {
  auto engine = OpenEngineWithoutStore(global);
  if (!engine.ok()) return FailWith(engine.status());
  auto analysis = (*engine)->analysis();
  if (!analysis.ok()) return FailWith(analysis.status());
  for (const auto& w : (*analysis)->warnings) {
    std::fprintf(stderr, "timbre: warning: %s\n", w.c_str());
  }
  auto contracts = service::AnalyzerContracts(**engine);
  if (!contracts.ok()) return FailWith(contracts.status());
  if (json) {
    std::printf("%s\n", Dump(*contracts, 2).c_str());
    return 0;
  }
  for (const auto& a : *contracts) {
    if (a.contains("installed")) {  // why `notes` is absent, with the command that installs it
      std::printf("%s\n", a["description"].get<std::string>().c_str());
      continue;
    }
    const int rate = a["view"]["sample_rate"].get<int>();
    std::printf("%s v%d: %s\n  reads: %s at %s, %s\n", a["name"].get<std::string>().c_str(),
                a["version"].get<int>(), a["description"].get<std::string>().c_str(),
                a["window"].get<std::string>().c_str(),
                rate == 0 ? "native rate" : (std::to_string(rate) + " Hz").c_str(),
                a["view"]["channels"].get<int>() == 1 ? "mono" : "native channels");
    for (const auto& p : a["params"]) {
      std::printf("  param  %-22s default %g, range [%g, %g] %s: %s\n",
                  p["name"].get<std::string>().c_str(), p["default"].get<double>(),
                  p["min"].get<double>(), p["max"].get<double>(),
                  p["unit"].get<std::string>().c_str(),
                  p["description"].get<std::string>().c_str());
    }
    for (const auto& o : a["outputs"]) {
      std::printf("  output %-22s %-6s %s\n", o["name"].get<std::string>().c_str(),
                  o["unit"].get<std::string>().c_str(),
                  o["description"].get<std::string>().c_str());
    }
  }
  return 0;
}

}  // namespace

void AddAnalyzersCommand(CLI::App& app, GlobalOptions& global) {
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "analyzers",
      "List the analyzers (built-in, and those of the models folder): version, audio they "
      "read, parameters, outputs.");
  cmd->add_flag("--json", *json, "print JSON");
  AddModelOptions(cmd, global);
  cmd->callback([json, &global] { global.exit_code = RunAnalyzers(*json, global); });
}

}  // namespace timbre::cli
