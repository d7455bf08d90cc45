// timbre models list | verify | show | import: the models folder, its manifests and checksums.
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "commands.h"
#include "timbre/models/model_cache.h"
#include "timbre/service/catalog.h"

namespace timbre::cli {
namespace {

using models::ModelEntry;
using service::ModelJson;
using service::ModelState;

struct ModelsArgs {
  std::string id;
  std::string file;
  std::string manifest;
  bool json = false;
};

void PrintTable(const models::ModelRegistry& registry) {
  std::printf("models in %s\n", registry.dir().string().c_str());
  if (registry.entries().empty()) {
    std::printf("(none; `timbre models import FILE --manifest M` adds one)\n");
    return;
  }
  std::printf("%-28s  %-10s  %-10s  %-18s  %s\n", "id", "kind", "version", "state", "license");
  for (const auto& e : registry.entries()) {
    if (!e.manifest_error.ok()) {
      std::printf("%-28s  %-10s  %-10s  %-18s  %s\n", e.manifest_path.filename().c_str(), "?", "?",
                  ModelState(e).c_str(), "");
      continue;
    }
    const auto& m = e.manifest;
    std::printf("%-28s  %-10s  %-10s  %-18s  %s\n", m.id.c_str(),
                std::string(models::ModelKindName(m.kind)).c_str(), m.version.c_str(),
                ModelState(e).c_str(), m.license.c_str());
  }
  for (const auto& e : registry.entries()) {
    if (!e.manifest_error.ok()) {
      std::printf("  %s\n", e.manifest_error.message().c_str());
    } else if (!e.problem.ok()) {
      std::printf("  %s\n", e.problem.message().c_str());
    }
  }
}

int RunList(const ModelsArgs& args, bool verify, const GlobalOptions& global) {
  auto engine = OpenEngineWithoutStore(global);
  if (!engine.ok()) return FailWith(engine.status());
  auto registry = service::DiscoverModels(**engine, verify);
  if (!registry.ok()) return Fail(registry.status().message(), 2);
  const models::RuntimeLookup* runtime = verify ? &models::TorchRuntime() : nullptr;
  if (args.json) {
    nlohmann::json j{{"dir", registry->dir().string()}, {"models", nlohmann::json::array()}};
    for (const auto& e : registry->entries()) j["models"].push_back(ModelJson(e, *registry, false));
    if (runtime != nullptr) {
      j["runtime"] = {{"name", "torchscript"}, {"available", runtime->runtime != nullptr}};
      if (runtime->runtime != nullptr) {
        j["runtime"]["version"] = runtime->runtime->version();
      } else {
        j["runtime"]["reason"] = runtime->reason;
      }
    }
    std::printf("%s\n", Dump(j, 2).c_str());
  } else {
    PrintTable(*registry);
    if (runtime != nullptr) {
      std::printf("runtime: %s\n", runtime->runtime != nullptr ? runtime->runtime->version().c_str()
                                                               : runtime->reason.c_str());
    }
  }
  if (!verify) return 0;
  for (const auto& e : registry->entries()) {
    if (!e.usable()) return 1;
  }
  // Models that verify but have no runtime to run them cannot run either.
  return runtime->runtime == nullptr && !registry->entries().empty() ? 1 : 0;
}

int RunShow(const ModelsArgs& args, const GlobalOptions& global) {
  auto engine = OpenEngineWithoutStore(global);
  if (!engine.ok()) return FailWith(engine.status());
  auto registry = service::DiscoverModels(**engine, false);
  if (!registry.ok()) return Fail(registry.status().message(), 2);
  registry->Verify(args.id);
  const ModelEntry* e = registry->Find(args.id);
  if (e == nullptr) {
    return Fail(fmt::format("no model \"{}\" in {} (`timbre models list` shows them)", args.id,
                            registry->dir().string()),
                2);
  }
  const nlohmann::json j = ModelJson(*e, *registry, true);
  if (args.json) {
    std::printf("%s\n", Dump(j, 2).c_str());
    return 0;
  }
  for (const auto& [key, value] : j.items()) {
    std::printf("%-12s  %s\n", key.c_str(),
                value.is_string() ? value.get<std::string>().c_str() : Dump(value).c_str());
  }
  return 0;
}

int RunImport(const ModelsArgs& args, const GlobalOptions& global) {
  auto engine = OpenEngineWithoutStore(global);
  if (!engine.ok()) return FailWith(engine.status());
  auto entry = service::ImportModel(**engine, args.file, args.manifest);
  if (!entry.ok()) return Fail(entry.status().message(), 2);
  if (args.json) {
    auto registry = service::DiscoverModels(**engine, false);
    if (!registry.ok()) return Fail(registry.status().message());
    std::printf("%s\n", Dump(ModelJson(*entry, *registry, false), 2).c_str());
  } else {
    std::printf("imported %s (%s) into %s\n", entry->manifest.id.c_str(),
                std::string(models::ModelKindName(entry->manifest.kind)).c_str(),
                (*engine)->models_dir().string().c_str());
  }
  return 0;
}

}  // namespace

void AddModelsCommands(CLI::App& app, GlobalOptions& global) {
  CLI::App* cmd = app.add_subcommand(
      "models", "Neural models: TorchScript files with TOML manifests (docs/models.md).");
  cmd->require_subcommand(1);
  auto args = std::make_shared<ModelsArgs>();
  auto common = [&](CLI::App* c) {
    AddSettingOption(c, global, "--models", "models.dir",
                     "models folder (default: $TIMBRE_MODELS, else $XDG_DATA_HOME/timbre/models)");
    c->add_flag("--json", args->json, "print JSON");
  };

  CLI::App* list = cmd->add_subcommand("list", "Every manifest in the folder, with its state.");
  common(list);
  list->callback([args, &global] { global.exit_code = RunList(*args, false, global); });

  CLI::App* verify = cmd->add_subcommand(
      "verify", "Check every model's sha256 and the runtime; exit 1 if any model cannot run.");
  common(verify);
  verify->callback([args, &global] { global.exit_code = RunList(*args, true, global); });

  CLI::App* show = cmd->add_subcommand("show", "One model's manifest, resolved, with its tags.");
  show->add_option("id", args->id, "model id")->required();
  common(show);
  show->callback([args, &global] { global.exit_code = RunShow(*args, global); });

  CLI::App* import = cmd->add_subcommand(
      "import", "Copy a model file and its manifest into the folder, after checking its sha256.");
  import->add_option("file", args->file, "the model file (TorchScript)")->required();
  import->add_option("--manifest", args->manifest, "its TOML manifest")->required();
  common(import);
  import->callback([args, &global] { global.exit_code = RunImport(*args, global);
});
}  // namespace timbre::cli

}  // namespace timbre::cli
