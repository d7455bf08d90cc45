#include "timbre/models/model_cache.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

#include <fmt/format.h>

namespace timbre::models {
namespace fs = std::filesystem;

namespace {

constexpr const char* kPluginName = "timbre-torch.so";

std::mutex plugin_mu;
fs::path& PluginOverride() {
  static fs::path path;
  return path;
}

std::vector<fs::path> PluginCandidates() {
  std::vector<fs::path> out;
  {
    std::lock_guard lock(plugin_mu);
    if (!PluginOverride().empty()) {
      out.push_back(PluginOverride());
      return out;
    }
  }
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    out.push_back(exe.parent_path() / kPluginName);
    out.push_back(exe.parent_path().parent_path() / "lib" / "timbre" / kPluginName);
  }
  return out;
}

RuntimeLookup OpenTorchPlugin() {
  RuntimeLookup r;
  std::string tried;
  for (const auto& candidate : PluginCandidates()) {
    std::error_code ec;
    if (!fs::exists(candidate, ec)) {
      tried += (tried.empty() ? "" : ", ") + candidate.string();
      continue;
    }
    void* handle = dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      r.reason = fmt::format("{} cannot be loaded: {}", candidate.string(), dlerror());
      return r;
    }
    auto factory = reinterpret_cast<RuntimeFactory>(dlsym(handle, kTorchFactorySymbol));
    Runtime* runtime = factory != nullptr ? factory(kRuntimeAbi) : nullptr;
    if (runtime == nullptr) {
      r.reason = fmt::format("{} is from another build of timbre", candidate.string());
      return r;
    }
    r.runtime = runtime;  // the plugin stays loaded for the life of the process
    r.plugin = candidate.string();
    return r;
  }
  r.reason = fmt::format(
      "the TorchScript runtime is not installed (timbre was built without libtorch, or {} "
      "is missing; looked in {})",
      kPluginName, tried.empty() ? "nowhere" : tried);
  return r;
}

}  // namespace

void UseTorchPlugin(const std::filesystem::path& plugin) {
  std::lock_guard lock(plugin_mu);
  PluginOverride() = plugin;
}

const RuntimeLookup& TorchRuntime() {
  static const RuntimeLookup lookup = OpenTorchPlugin();
  return lookup;
}

ModelCache::ModelCache(Runtime* runtime, size_t budget_bytes)
    : runtime_(runtime), budget_(budget_bytes) {}

Result<std::shared_ptr<const LoadedModel>> ModelCache::Get(const ModelEntry& entry) {
  if (!entry.usable()) {
    return !entry.manifest_error.ok() ? entry.manifest_error : entry.problem;
  }
  const std::string key = entry.manifest.id + "@" + entry.manifest.sha256;
  // Loading happens under the lock: scan threads asking for the same model wait for one load
  // rather than each loading a copy.
  std::lock_guard lock(mu_);
  for (auto it = lru_.begin(); it != lru_.end(); ++it) {
    if (it->key == key) {
      lru_.splice(lru_.begin(), lru_, it);
      ++stats_.hits;
      return lru_.front().model;
    }
  }
  if (runtime_ == nullptr) {
    return Unsupported(TorchRuntime().reason).WithReason("runtime_unavailable");
  }
  auto bytes = ReadFileBytes(entry.model_path);
  if (!bytes.ok()) return bytes.status();
  const std::string sum = Sha256Hex(*bytes);
  if (sum != entry.manifest.sha256) {
    return Corrupt(fmt::format("{}: sha256 is {}, the manifest says {}; the model is not loaded",
                               entry.model_path.string(), sum, entry.manifest.sha256))
        .WithReason("checksum_mismatch");
  }
  std::string error;
  std::unique_ptr<LoadedModel> loaded = runtime_->Load(*bytes, &error);
  if (loaded == nullptr) {
    return Corrupt(fmt::format("{}: {} cannot load it: {}", entry.model_path.string(),
                               runtime_->name(), error))
        .WithReason("model_load_failed");
  }
  Slot slot;
  slot.key = key;
  slot.bytes = loaded->memory_bytes();
  slot.model = std::shared_ptr<const LoadedModel>(std::move(loaded));
  lru_.push_front(std::move(slot));
  ++stats_.loads;
  stats_.resident_bytes += lru_.front().bytes;
  EvictBeyondBudget();
  stats_.resident_models = lru_.size();
  return lru_.front().model;
}

void ModelCache::EvictBeyondBudget() {
  // The model just loaded always stays, even when it alone is over the budget.
  while (lru_.size() > 1 && stats_.resident_bytes > budget_) {
    stats_.resident_bytes -= lru_.back().bytes;
    lru_.pop_back();
    ++stats_.evictions;
  }
}

CacheStats ModelCache::stats() const {
  std::lock_guard lock(mu_);
  CacheStats s = stats_;
  s.resident_models = lru_.size();
  return s;
}

}  // namespace timbre::models
