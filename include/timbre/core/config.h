// One configuration for the whole program. Every setting is declared once in a table
// (config.cpp): its key in the TOML file, its environment variable, its flag, its type and
// range, its default and what it does. A value comes from, in rising precedence: the default,
// the file ($XDG_CONFIG_HOME/timbre/config.toml or --config), the environment, a flag.
// `timbre config show` prints every value and where it came from, secrets masked.
//
// The file groups keys in tables: `server.port` is `port` under `[server]`.
//
// This is the only place that reads settings from the environment (paths.cpp reads the XDG
// and HOME variables that say where files live).
//
// Thread safety: a Config is a value; const methods may be called from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "timbre/core/status.h"

namespace timbre {

// Lists are arrays in the file; in the environment and on `config show` their items are
// separated by ':' (paths, as in $PATH) or ',' (anything else, such as IPv6 addresses).
enum class SettingType { kString, kInt, kNumber, kBool, kPathList, kList };

struct SettingSpec {
  std::string_view key;  // "server.port"
  SettingType type;
  std::string_view default_value;  // as text: "8484", "true", ""; lists as in the environment
  std::string_view env;            // "TIMBRE_PORT"; empty when there is none
  std::string_view flag;           // "--port"; empty when there is none
  std::string_view description;
  double min = 0;  // for kInt and kNumber
  double max = 0;
  bool secret = false;  // masked by `config show`
};

// Every setting, grouped by table in the order docs and `config show` list them.
std::span<const SettingSpec> AllSettings();
const SettingSpec* FindSetting(std::string_view key);

enum class SettingSource { kDefault, kFile, kEnvironment, kFlag };
std::string_view SettingSourceName(SettingSource source);

// Reads an environment variable; null when unset. Tests pass their own.
using EnvironmentLookup = std::function<const char*(const char*)>;
EnvironmentLookup ProcessEnvironment();

class Config {
 public:
  struct Value {
    std::string text;                // canonical: "8484", "true", "2.5", "/a:/b"
    std::vector<std::string> items;  // a list's items
    SettingSource source = SettingSource::kDefault;
    std::string origin;  // "default", "/etc/timbre.toml", "TIMBRE_PORT", "--port"
  };

  // Defaults only.
  Config();

  // Defaults, then `file` (an absent file is an error only when `required`: an explicit
  // --config names a file that must exist; the default path is optional), then the
  // environment. Unknown keys, wrong types and values out of range are errors that name the
  // file, the key and what is allowed.
  static Result<Config> Load(const std::filesystem::path& file, bool required,
                             const EnvironmentLookup& env = ProcessEnvironment());

  // A flag's value overrides the rest. Checked like any other source.
  Status SetFromFlag(std::string_view key, std::string_view text, std::string_view flag = "");

  const std::string& Text(std::string_view key) const;
  int64_t Int(std::string_view key) const;
  double Number(std::string_view key) const;
  bool Bool(std::string_view key) const;
  const std::vector<std::string>& List(std::string_view key) const;
  const Value& Get(std::string_view key) const;

  // The file that was read; empty when none was.
  const std::filesystem::path& file() const { return file_; }

 private:
  Status Set(const SettingSpec& spec, std::string_view text, SettingSource source,
             std::string origin);
  void SetItems(const SettingSpec& spec, std::vector<std::string> items, SettingSource source,
                std::string origin);
  std::map<std::string, Value, std::less<>> values_;
  std::filesystem::path file_;
};

// $XDG_CONFIG_HOME/timbre/config.toml.
std::filesystem::path DefaultConfigPath();

// A setting's value as `config show` prints it: secrets that are set become "********".
std::string ShownValue(const SettingSpec& spec, const Config::Value& value);

}  // namespace timbre
