#include "timbre/core/config.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "timbre/core/paths.h"

namespace timbre {
namespace {

using T = SettingType;

// Every setting the program has. Defaults of 0 for thread counts mean "worked out from the
// machine" (core/resource_budget.h).
constexpr SettingSpec kSettings[] = {
    {"store.db", T::kString, "", "TIMBRE_DB", "--db",
     "the store: a SQLite file path or sqlite:PATH; empty: $XDG_DATA_HOME/timbre/timbre.db"},
    {"library.roots", T::kPathList, "", "TIMBRE_LIBRARY", "--library",
     "folders that file paths in API requests must lie under (':'-separated in the "
     "environment); without any, requests that name files are refused"},
    {"models.dir", T::kString, "", "TIMBRE_MODELS", "--models",
     "the models folder; empty: $XDG_DATA_HOME/timbre/models"},
    {"models.enabled", T::kBool, "true", "TIMBRE_MODELS_ENABLED", "--no-models",
     "run the models folder's models during scans (false: built-in analyzers only)"},
    {"models.memory_mb", T::kInt, "2048", "TIMBRE_MODEL_MEMORY", "--model-memory",
     "MiB of loaded models to keep in memory", 1, 1 << 20},
    {"models.batch", T::kInt, "16", "TIMBRE_MODEL_BATCH", "--model-batch",
     "patches per forward pass", 1, 4096},
    {"models.torch_plugin", T::kString, "", "TIMBRE_TORCH_PLUGIN", "",
     "the TorchScript runtime plugin; empty: timbre-torch.so beside the binary"},
    {"server.bind", T::kList, "127.0.0.1", "TIMBRE_BIND", "--bind",
     "addresses to listen on, IPv4 or IPv6 (\"::\" is every address of both)"},
    {"server.port", T::kInt, "8484", "TIMBRE_PORT", "--port",
     "TCP port (0: any free one, printed at start)", 0, 65535},
    {"server.max_body", T::kInt, "1048576", "TIMBRE_MAX_BODY", "--max-body",
     "largest JSON request body in bytes", 1024, 1 << 30},
    {"server.max_upload", T::kInt, "4294967296", "TIMBRE_MAX_UPLOAD", "--max-upload",
     "largest upload (a model file) in bytes, streamed to disk", 1024, 1LL << 42},
    {"server.rate_limit", T::kNumber, "1000", "TIMBRE_RATE_LIMIT", "--rate-limit",
     "requests per second per client (0: no limit)", 0, 1e9},
    {"server.rate_burst", T::kNumber, "2000", "TIMBRE_RATE_BURST", "--rate-burst",
     "requests a client may send at once", 1, 1e9},
    {"server.max_queued_jobs", T::kInt, "10000", "TIMBRE_MAX_QUEUED_JOBS", "--max-queued-jobs",
     "unfinished jobs beyond which POST /v1/jobs answers 429", 1, 1e9},
    {"auth.secret", T::kString, "", "INTERNAL_API_SECRET", "",
     "shared secret every route but /health then needs (X-Internal-Secret or Bearer)", 0, 0, true},
    {"auth.api_keys_file", T::kString, "", "TIMBRE_API_KEYS", "--api-keys",
     "file of API keys, one \"NAME KEY\" per line"},
    {"jobs.workers", T::kInt, "2", "TIMBRE_MAX_CONCURRENT_JOBS", "--workers",
     "jobs run at once by `timbre serve` or `timbre worker` (serve: 0 leaves the jobs to "
     "workers)",
     0, 256},
    {"jobs.timeout", T::kString, "3600", "TIMBRE_JOB_TIMEOUT", "",
     "time limit of a job in seconds, or by kind: \"scan=3600,analyze=300\""},
    {"jobs.grace_s", T::kNumber, "10", "TIMBRE_GRACE", "--grace",
     "seconds running jobs get to finish at SIGTERM before they are requeued", 0, 86400},
    {"jobs.lease_s", T::kNumber, "30", "TIMBRE_JOB_LEASE", "--lease",
     "seconds a worker holds a job between heartbeats; a worker silent this long loses its "
     "jobs to the others",
     1, 3600},
    {"jobs.worker_id", T::kString, "", "TIMBRE_WORKER_ID", "--worker-id",
     "this process's name in the job queue (default host:pid); unique among the processes "
     "that share a store"},
    {"budget.cores", T::kInt, "0", "TIMBRE_CORES", "--cores",
     "cores timbre may keep busy (0: all of the machine's)", 0, 4096},
    {"budget.analysis_threads", T::kInt, "0", "TIMBRE_ANALYSIS_THREADS", "--jobs",
     "files analysed in parallel, shared by every scan (0: the cores)", 0, 1024},
    {"budget.http_threads", T::kInt, "2", "TIMBRE_HTTP_THREADS", "--threads",
     "HTTP event-loop threads", 1, 256},
    {"budget.background_threads", T::kInt, "2", "TIMBRE_BACKGROUND_THREADS", "",
     "threads for slow work off the HTTP threads, in each of two pools: index builds, and "
     "requests that wait for one",
     1, 64},
    {"budget.model_threads", T::kInt, "1", "TIMBRE_MODEL_THREADS", "--model-threads",
     "threads of one forward pass (scans already run a track per thread)", 1, 256},
    {"budget.blas_threads", T::kInt, "1", "TIMBRE_BLAS_THREADS", "",
     "threads of one BLAS call (OpenBLAS under libtorch)", 1, 256},
    {"budget.index_threads", T::kInt, "0", "TIMBRE_INDEX_THREADS", "",
     "OpenMP threads of one vector-index build (0: the cores)", 0, 4096},
};

std::string Trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// The canonical text of a value, or why it is not one of this setting's.
Result<std::string> Canonical(const SettingSpec& spec, std::string_view raw) {
  const std::string text = Trimmed(raw);
  switch (spec.type) {
    case T::kString:
    case T::kPathList:
    case T::kList:
      return std::string(raw);
    case T::kBool:
      if (text == "true" || text == "1" || text == "yes" || text == "on")
        return std::string("true");
      if (text == "false" || text == "0" || text == "no" || text == "off") {
        return std::string("false");
      }
      return InvalidArgument(fmt::format("'{}' is not true or false", text));
    case T::kInt: {
      int64_t v = 0;
      const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() ||
          static_cast<double>(v) < spec.min || static_cast<double>(v) > spec.max) {
        return InvalidArgument(
            fmt::format("'{}' is not an integer from {} to {}", text, spec.min, spec.max));
      }
      return std::to_string(v);
    }
    case T::kNumber: {
      double v = 0;
      const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() ||
          !std::isfinite(v) || v < spec.min || v > spec.max) {
        return InvalidArgument(
            fmt::format("'{}' is not a number from {} to {}", text, spec.min, spec.max));
      }
      return fmt::format("{}", v);
    }
  }
  return Internal("unknown setting type");
}

bool IsList(SettingType t) { return t == T::kPathList || t == T::kList; }
char Separator(SettingType t) { return t == T::kPathList ? ':' : ','; }

// A TOML array of strings (or one string) as a list's items.
Result<std::vector<std::string>> TomlItems(const toml::node& node) {
  if (const auto* one = node.as_string()) return std::vector<std::string>{one->get()};
  const auto* list = node.as_array();
  if (list == nullptr) return InvalidArgument("expected a list of strings");
  std::vector<std::string> items;
  for (const auto& item : *list) {
    const auto* s = item.as_string();
    if (s == nullptr) return InvalidArgument("expected a list of strings");
    items.push_back(s->get());
  }
  return items;
}

// A TOML value as the text Canonical() reads.
Result<std::string> TomlText(const SettingSpec& spec, const toml::node& node) {
  if (const auto* s = node.as_string()) {
    if (spec.type != T::kString) return InvalidArgument("expected a number or boolean, not text");
    return s->get();
  }
  if (const auto* i = node.as_integer()) {
    if (spec.type != T::kInt && spec.type != T::kNumber)
      return InvalidArgument("unexpected number");
    return std::to_string(i->get());
  }
  if (const auto* f = node.as_floating_point()) {
    if (spec.type != T::kNumber) return InvalidArgument("expected an integer");
    return fmt::format("{}", f->get());
  }
  if (const auto* b = node.as_boolean()) {
    if (spec.type != T::kBool) return InvalidArgument("unexpected boolean");
    return std::string(b->get() ? "true" : "false");
  }
  return InvalidArgument("unexpected value");
}

std::string_view TypeName(SettingType t) {
  switch (t) {
    case T::kString:
      return "a string";
    case T::kInt:
      return "an integer";
    case T::kNumber:
      return "a number";
    case T::kBool:
      return "true or false";
    case T::kPathList:
      return "a list of paths";
    case T::kList:
      return "a list of strings";
  }
  return "a value";
}

}  // namespace

std::span<const SettingSpec> AllSettings() { return kSettings; }

const SettingSpec* FindSetting(std::string_view key) {
  for (const auto& s : kSettings) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

std::string_view SettingSourceName(SettingSource source) {
  switch (source) {
    case SettingSource::kDefault:
      return "default";
    case SettingSource::kFile:
      return "file";
    case SettingSource::kEnvironment:
      return "environment";
    case SettingSource::kFlag:
      return "flag";
  }
  return "unknown";
}

EnvironmentLookup ProcessEnvironment() {
  return [](const char* name) -> const char* { return std::getenv(name); };
}

std::filesystem::path DefaultConfigPath() { return DefaultConfigDir() / "config.toml"; }

Config::Config() {
  for (const auto& spec : kSettings) {
    const Status s = Set(spec, spec.default_value, SettingSource::kDefault, "default");
    if (!s.ok()) throw std::logic_error(s.message());  // a default outside its own range
  }
}

Status Config::Set(const SettingSpec& spec, std::string_view text, SettingSource source,
                   std::string origin) {
  auto canonical = Canonical(spec, text);
  if (!canonical.ok()) {
    return InvalidArgument(
        fmt::format("{} ({}): {}", origin, spec.key, canonical.status().message()));
  }
  if (IsList(spec.type)) {
    std::vector<std::string> items;
    std::stringstream ss(*canonical);
    std::string item;
    while (std::getline(ss, item, Separator(spec.type))) {
      if (!item.empty()) items.push_back(item);
    }
    SetItems(spec, std::move(items), source, std::move(origin));
    return Status::Ok();
  }
  values_[std::string(spec.key)] = {std::move(canonical).value(), {}, source, std::move(origin)};
  return Status::Ok();
}

void Config::SetItems(const SettingSpec& spec, std::vector<std::string> items, SettingSource source,
                      std::string origin) {
  std::string text;
  for (const auto& item : items) {
    if (!text.empty()) text += Separator(spec.type);
    text += item;
  }
  values_[std::string(spec.key)] = {std::move(text), std::move(items), source, std::move(origin)};
}

Result<Config> Config::Load(const std::filesystem::path& file, bool required,
                            const EnvironmentLookup& env) {
  Config config;
  std::error_code ec;
  if (!file.empty() && std::filesystem::exists(file, ec)) {
    toml::table table;
    try {
      table = toml::parse_file(file.string());
    } catch (const toml::parse_error& e) {
      return InvalidArgument(fmt::format("{}:{}:{}: {}", file.string(), e.source().begin.line,
                                         e.source().begin.column, e.description()));
    }
    config.file_ = file;
    // Every key of the file must be a known setting: a typo is an error, not a silent default.
    for (const auto& [group, node] : table) {
      const auto* members = node.as_table();
      if (members == nullptr) {
        return InvalidArgument(fmt::format("{}: '{}' should be a table such as [{}]", file.string(),
                                           group.str(), group.str()));
      }
      for (const auto& [name, value] : *members) {
        const std::string key = fmt::format("{}.{}", group.str(), name.str());
        const SettingSpec* spec = FindSetting(key);
        if (spec == nullptr) {
          return InvalidArgument(fmt::format(
              "{}: unknown setting '{}' (timbre config show lists them)", file.string(), key));
        }
        if (IsList(spec->type)) {
          auto items = TomlItems(value);
          if (!items.ok()) {
            return InvalidArgument(
                fmt::format("{}: {} should be {}", file.string(), key, TypeName(spec->type)));
          }
          config.SetItems(*spec, std::move(items).value(), SettingSource::kFile, file.string());
          continue;
        }
        auto text = TomlText(*spec, value);
        if (!text.ok()) {
          return InvalidArgument(fmt::format("{}: {} should be {}: {}", file.string(), key,
                                             TypeName(spec->type), text.status().message()));
        }
        TIMBRE_RETURN_IF_ERROR(config.Set(*spec, *text, SettingSource::kFile, file.string()));
      }
    }
  } else if (required) {
    return NotFound(fmt::format("no configuration file {}", file.string()));
  }
  for (const auto& spec : kSettings) {
    if (spec.env.empty()) continue;
    const std::string name(spec.env);
    const char* value = env(name.c_str());
    if (value == nullptr) continue;
    TIMBRE_RETURN_IF_ERROR(config.Set(spec, value, SettingSource::kEnvironment, name));
  }
  return config;
}

Status Config::SetFromFlag(std::string_view key, std::string_view text, std::string_view flag) {
  const SettingSpec* spec = FindSetting(key);
  if (spec == nullptr) return Internal(fmt::format("no setting '{}'", key));
  return Set(*spec, text, SettingSource::kFlag, std::string(flag.empty() ? spec->flag : flag));
}

const Config::Value& Config::Get(std::string_view key) const {
  auto it = values_.find(key);
  if (it == values_.end()) {
    // A key missing from the table is a bug in the caller, caught by every test that runs it.
    throw std::logic_error(fmt::format("no setting '{}'", key));
  }
  return it->second;
}

const std::string& Config::Text(std::string_view key) const { return Get(key).text; }

int64_t Config::Int(std::string_view key) const { return std::stoll(Get(key).text); }

double Config::Number(std::string_view key) const { return std::stod(Get(key).text); }

bool Config::Bool(std::string_view key) const { return Get(key).text == "true"; }

const std::vector<std::string>& Config::List(std::string_view key) const { return Get(key).items; }

std::string ShownValue(const SettingSpec& spec, const Config::Value& value) {
  if (spec.secret && !value.text.empty()) return "********";
  return value.text;
}

}  // namespace timbre
