// timbre models list | verify | show | import: the models folder, its manifests and checksums.
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "commands.h"
#include "timbre/models/model_cache.h"
#include "timbre/models/registry.h"

namespace timbre::cli {
namespace {

namespace fs = std::filesystem;
using models::ModelEntry;

struct ModelsArgs {
  std::string dir;
  std::string id;
  std::string file;
  std::string manifest;
  bool json = false;
};

fs::path Dir(const ModelsArgs& args) {
  return args.dir.empty() ? models::DefaultModelsDir() : fs::path(args.dir);
}

std::string State(const ModelEntry& e) {
  if (!e.manifest_error.ok()) return std::string(e.manifest_error.reason());
  if (!e.problem.ok()) return std::string(e.problem.reason());
  return e.verified ? "verified" : "ok";
}

std::string Problem(const ModelEntry& e) {
  if (!e.manifest_error.ok()) return e.manifest_error.message();
  return e.problem.ok() ? "" : e.problem.message();
}

nlohmann::json EntryJson(const ModelEntry& e, const models::ModelRegistry& registry, bool full) {
  nlohmann::json j{{"manifest", e.manifest_path.string()}, {"state", State(e)}};
  if (!Problem(e).empty()) j["problem"] = Problem(e);
  if (!e.manifest_error.ok()) return j;
  const models::Manifest& m = e.manifest;
  j["id"] = m.id;
  j["name"] = m.name;
  j["version"] = m.version;
  j["kind"] = models::ModelKindName(m.kind);
  j["framework"] = m.framework;
  j["runtime"] = m.runtime;
  j["file"] = e.model_path.string();
  j["size"] = e.file_size;
  j["sha256"] = m.sha256;
  j["license"] = m.license;
  j["verified"] = e.verified;
  if (!full) return j;
  j["source"] = m.source;
  j["description"] = m.description;
  if (m.kind == models::ModelKind::kHead) {
    j["embedder"] = m.embedder;
    const ModelEntry* embedder = registry.Find(m.embedder);
    if (embedder != nullptr) j["tag_prefix"] = models::TagPrefix(m, &embedder->manifest);
  } else if (m.kind == models::ModelKind::kTranscriber) {
    j["input"] = {{"frontend", "waveform"},
                  {"sample_rate", m.waveform.sample_rate},
                  {"window", m.waveform.window}};
    j["analysis"] = "notes";
  } else {
    const auto& f = m.frontend;
    j["input"] = {
        {"frontend", "logmel"},
        {"sample_rate", f.sample_rate},
        {"frame_size", f.frame_size},
        {"hop_size", f.hop_size},
        {"mel_bands", f.mel_bands},
        {"low_hz", f.low_hz},
        {"high_hz", f.high_hz},
        {"log", f.log == dsp::LogCompression::kDecibel ? "db" : "log10_1p"},
        {"log_scale", f.log_scale},
        {"patch_frames", f.patch_frames},
        {"patch_hop", f.patch_hop},
        {"layout", m.layout == models::TensorLayout::kPatchChannelFramesBands ? "ncfb" : "nfb"}};
    j["analysis"] = models::AnalysisName(m);
    if (m.kind == models::ModelKind::kClassifier) j["tag_prefix"] = models::TagPrefix(m, nullptr);
    if (m.kind == models::ModelKind::kEmbedder) j["space"] = models::AnalysisName(m);
  }
  if (m.kind == models::ModelKind::kEmbedder) {
    j["output"] = {{"dim", m.dim}};
  } else if (m.kind == models::ModelKind::kTranscriber) {
    j["output"] = {{"names", m.output_names}, {"frames", m.output_frames}};
  } else {
    j["output"] = {{"labels", m.labels}, {"activation", models::ActivationName(m.activation)}};
    nlohmann::json rules;
    for (const auto& [name, r] :
         {std::pair{"high", m.tiers.high}, std::pair{"medium", m.tiers.medium},
          std::pair{"low", m.tiers.low}}) {
      rules[name] = {{"probability", r.probability}, {"margin", r.margin}, {"spread", r.spread}};
    }
    j["tiers"] = {{"mode", m.tiers.multilabel ? "multilabel" : "exclusive"},
                  {"labels", m.tiers.labels},
                  {"contradicts", m.tiers.contradicts},
                  {"rules", rules}};
  }
  return j;
}

Result<models::ModelRegistry> Open(const ModelsArgs& args) {
  return models::ModelRegistry::Discover(Dir(args));
}

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
                  State(e).c_str(), "");
      continue;
    }
    const auto& m = e.manifest;
    std::printf("%-28s  %-10s  %-10s  %-18s  %s\n", m.id.c_str(),
                std::string(models::ModelKindName(m.kind)).c_str(), m.version.c_str(),
                State(e).c_str(), m.license.c_str());
  }
  for (const auto& e : registry.entries()) {
    if (!Problem(e).empty()) std::printf("  %s\n", Problem(e).c_str());
  }
}

int RunList(const ModelsArgs& args, bool verify) {
  auto registry = Open(args);
  if (!registry.ok()) return Fail(registry.status().message(), 2);
  if (verify) registry->Verify();
  const models::RuntimeLookup* runtime = verify ? &models::TorchRuntime() : nullptr;
  if (args.json) {
    nlohmann::json j{{"dir", registry->dir().string()}, {"models", nlohmann::json::array()}};
    for (const auto& e : registry->entries()) j["models"].push_back(EntryJson(e, *registry, false));
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

int RunShow(const ModelsArgs& args) {
  auto registry = Open(args);
  if (!registry.ok()) return Fail(registry.status().message(), 2);
  registry->Verify(args.id);
  const ModelEntry* e = registry->Find(args.id);
  if (e == nullptr) {
    return Fail(fmt::format("no model \"{}\" in {} (`timbre models list` shows them)", args.id,
                            registry->dir().string()),
                2);
  }
  const nlohmann::json j = EntryJson(*e, *registry, true);
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

int RunImport(const ModelsArgs& args) {
  auto entry = models::ImportModel(args.file, args.manifest, Dir(args));
  if (!entry.ok()) return Fail(entry.status().message(), 2);
  if (args.json) {
    auto registry = Open(args);
    if (!registry.ok()) return Fail(registry.status().message());
    std::printf("%s\n", Dump(EntryJson(*entry, *registry, false), 2).c_str());
  } else {
    std::printf("imported %s (%s) into %s\n", entry->manifest.id.c_str(),
                std::string(models::ModelKindName(entry->manifest.kind)).c_str(),
                Dir(args).string().c_str());
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
    c->add_option("--models", args->dir,
                  "models folder (default: $TIMBRE_MODELS, else $XDG_DATA_HOME/timbre/models)");
    c->add_flag("--json", args->json, "print JSON");
  };

  CLI::App* list = cmd->add_subcommand("list", "Every manifest in the folder, with its state.");
  common(list);
  list->callback([args, &global] { global.exit_code = RunList(*args, false); });

  CLI::App* verify = cmd->add_subcommand(
      "verify", "Check every model's sha256 and the runtime; exit 1 if any model cannot run.");
  common(verify);
  verify->callback([args, &global] { global.exit_code = RunList(*args, true); });

  CLI::App* show = cmd->add_subcommand("show", "One model's manifest, resolved, with its tags.");
  show->add_option("id", args->id, "model id")->required();
  common(show);
  show->callback([args, &global] { global.exit_code = RunShow(*args); });

  CLI::App* import = cmd->add_subcommand(
      "import", "Copy a model file and its manifest into the folder, after checking its sha256.");
  import->add_option("file", args->file, "the model file (TorchScript)")->required();
  import->add_option("--manifest", args->manifest, "its TOML manifest")->required();
  common(import);
  import->callback([args, &global] { global.exit_code = RunImport(*args);
});
}  // namespace timbre::cli

}  // namespace timbre::cli
