// The command line's side of the configuration: flags that set settings, and `timbre config
// show`.
#include <cstdio>

#include <fmt/format.h>

#include "commands.h"
#include "timbre/core/resource_budget.h"
#include "timbre/core/thread_pool.h"

namespace timbre::cli {
namespace {

const SettingSpec& Spec(std::string_view key) {
  const SettingSpec* spec = FindSetting(key);
  // A flag for a setting that does not exist is a bug caught by every run of the command.
  if (spec == nullptr) throw std::logic_error(fmt::format("no setting '{}'", key));
  return *spec;
}

std::string DefaultHelp(const SettingSpec& spec) {
  std::string help(spec.description);
  std::string facts;
  if (!spec.default_value.empty()) facts = fmt::format("default {}", spec.default_value);
  if (!spec.env.empty())
    facts += (facts.empty() ? "" : "; ") + std::string("$") + std::string(spec.env);
  facts += (facts.empty() ? "" : "; ") + std::string("config ") + std::string(spec.key);
  return fmt::format("{} [{}]", help, facts);
}

}  // namespace

CLI::Option* AddSettingOption(CLI::App* cmd, GlobalOptions& global, const std::string& names,
                              std::string_view key, const std::string& help) {
  const SettingSpec& spec = Spec(key);
  SettingFlag& flag = global.flags.emplace_back();
  flag.key = std::string(key);
  flag.name = names.substr(0, names.find(','));
  const bool list = spec.type == SettingType::kPathList || spec.type == SettingType::kList;
  flag.option = cmd->add_option(names, flag.values, help.empty() ? DefaultHelp(spec) : help);
  if (!list) flag.option->expected(1);
  switch (spec.type) {
    case SettingType::kInt:
      flag.option->type_name("INT");
      break;
    case SettingType::kNumber:
      flag.option->type_name("NUMBER");
      break;
    case SettingType::kPathList:
      flag.option->type_name("PATH");
      break;
    case SettingType::kList:
    case SettingType::kString:
      flag.option->type_name(
          key == "store.db" || key.ends_with("dir") || key.ends_with("file") ? "PATH" : "TEXT");
      break;
    case SettingType::kBool:
      flag.option->type_name("BOOL");
      break;
  }
  return flag.option;
}

CLI::Option* AddSettingSwitch(CLI::App* cmd, GlobalOptions& global, const std::string& names,
                              std::string_view key, std::string_view value,
                              const std::string& help) {
  Spec(key);
  SettingFlag& flag = global.flags.emplace_back();
  flag.key = std::string(key);
  flag.name = names.substr(0, names.find(','));
  flag.fixed = std::string(value);
  flag.option = cmd->add_flag(names, help);
  return flag.option;
}

void AddModelOptions(CLI::App* cmd, GlobalOptions& global) {
  AddSettingOption(cmd, global, "--models", "models.dir");
  AddSettingSwitch(cmd, global, "--no-models", "models.enabled", "false",
                   "run no neural models, only the built-in analyzers");
  AddSettingOption(cmd, global, "--model-memory", "models.memory_mb");
  AddSettingOption(cmd, global, "--model-batch", "models.batch");
  AddSettingOption(cmd, global, "--model-threads", "budget.model_threads");
}

Result<Config> ResolveConfig(const GlobalOptions& global) {
  const bool named = !global.config_file.empty();
  auto config =
      Config::Load(named ? std::filesystem::path(global.config_file) : DefaultConfigPath(), named);
  if (!config.ok()) return config.status();
  for (const auto& flag : global.flags) {
    if (flag.option == nullptr || flag.option->count() == 0) continue;
    std::string text = flag.fixed;
    if (text.empty()) {
      const SettingSpec& spec = Spec(flag.key);
      const char separator = spec.type == SettingType::kPathList ? ':' : ',';
      for (const auto& v : flag.values) {
        if (!text.empty()) text += separator;
        text += v;
      }
    }
    TIMBRE_RETURN_IF_ERROR(config->SetFromFlag(flag.key, text, flag.name));
  }
  return config;
}

Result<std::unique_ptr<service::Engine>> OpenEngine(const GlobalOptions& global,
                                                    service::EngineRole role) {
  auto config = ResolveConfig(global);
  if (!config.ok()) return config.status();
  service::EngineOptions options;
  options.config = std::move(config).value();
  options.role = role;
  return service::Engine::Open(std::move(options));
}

Result<std::unique_ptr<service::Engine>> OpenEngineWithoutStore(const GlobalOptions& global) {
  auto config = ResolveConfig(global);
  if (!config.ok()) return config.status();
  service::EngineOptions options;
  options.config = std::move(config).value();
  options.open_store = false;
  return service::Engine::Open(std::move(options));
}

void AddConfigCommand(CLI::App& app, GlobalOptions& global) {
  CLI::App* cmd = app.add_subcommand(
      "config", "The configuration: every setting, its value and where the value came from.");
  cmd->require_subcommand(1);
  auto json = std::make_shared<bool>(false);
  CLI::App* show = cmd->add_subcommand(
      "show",
      "Print every setting resolved from the defaults, the file ($XDG_CONFIG_HOME/timbre/"
      "config.toml or --config), the environment and the flags, with where each value came "
      "from (secrets masked), and the thread budget they give.");
  show->add_flag("--json", *json, "print JSON");
  show->callback([json, &global] {
    auto config = ResolveConfig(global);
    if (!config.ok()) {
      global.exit_code = FailWith(config.status());
      return;
    }
    const ResourceBudget b = BudgetFrom(*config, HardwareThreads());
    const std::string file = config->file().empty()
                                 ? "(none: " + DefaultConfigPath().string() + " is absent)"
                                 : config->file().string();
    if (*json) {
      nlohmann::json settings = nlohmann::json::array();
      for (const auto& spec : AllSettings()) {
        const auto& v = config->Get(spec.key);
        settings.push_back({{"key", spec.key},
                            {"value", ShownValue(spec, v)},
                            {"source", SettingSourceName(v.source)},
                            {"origin", v.origin},
                            {"env", spec.env},
                            {"flag", spec.flag},
                            {"secret", spec.secret},
                            {"description", spec.description}});
      }
      nlohmann::json budget{{"cores", b.cores},
                            {"analysis_threads", b.analysis_threads},
                            {"http_threads", b.http_threads},
                            {"background_threads", b.background_threads},
                            {"job_workers", b.job_workers},
                            {"model_threads", b.model_threads},
                            {"blas_threads", b.blas_threads},
                            {"index_threads", b.index_threads}};
      std::printf(
          "%s\n",
          Dump({{"file", config->file().string()}, {"settings", settings}, {"budget", budget}}, 2)
              .c_str());
      return;
    }
    std::printf("configuration file: %s\n\n", file.c_str());
    std::printf("%-26s %-24s %s\n", "setting", "value", "from");
    for (const auto& spec : AllSettings()) {
      const auto& v = config->Get(spec.key);
      std::string value = ShownValue(spec, v);
      if (value.empty()) value = "\"\"";
      std::printf("%-26s %-24s %s\n", std::string(spec.key).c_str(), value.c_str(),
                  v.source == SettingSource::kDefault ? "default" : v.origin.c_str());
    }
    std::printf(
        "\nbudget: %d cores; %d analysis threads, %d HTTP, %d background, %d job workers, "
        "%d per forward pass, %d per BLAS call, %d per index build\n",
        b.cores, b.analysis_threads, b.http_threads, b.background_threads, b.job_workers,
        b.model_threads, b.blas_threads, b.index_threads);
  });
}

}  // namespace timbre::cli
