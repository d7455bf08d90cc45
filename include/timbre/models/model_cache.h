// Where loaded models live: the runtime plugin, found and opened once per process, and a
// cache that loads each model on first use (after checking its sha256 on the very bytes it
// loads) and drops the least recently used ones beyond a memory budget.
#pragma once

#include <cstddef>
#include <filesystem>
#include <list>
#include <memory>
#include <mutex>
#include <string>

#include "timbre/core/status.h"
#include "timbre/models/registry.h"
#include "timbre/models/runtime.h"

namespace timbre::models {

// The TorchScript runtime, or null with `reason` saying why it is unavailable (no plugin,
// plugin without libtorch, wrong build). Looked up once per process: in the file given to
// UseTorchPlugin() (models.torch_plugin), else beside the executable, then in ../lib/timbre.
struct RuntimeLookup {
  Runtime* runtime = nullptr;
  std::string reason;
  std::string plugin;  // the file opened
};
const RuntimeLookup& TorchRuntime();
// The plugin file to open; takes effect only before the first TorchRuntime().
void UseTorchPlugin(const std::filesystem::path& plugin);

struct CacheStats {
  size_t loads = 0;
  size_t hits = 0;
  size_t evictions = 0;
  size_t resident_models = 0;
  size_t resident_bytes = 0;
};

class ModelCache {
 public:
  ModelCache(Runtime* runtime, size_t budget_bytes);

  // The loaded model of `entry`, loading it on first use. The model stays alive for holders of
  // the pointer even when the cache drops it.
  Result<std::shared_ptr<const LoadedModel>> Get(const ModelEntry& entry);
  CacheStats stats() const;
  Runtime* runtime() const { return runtime_; }

 private:
  struct Slot {
    std::string key;  // id + sha256
    std::shared_ptr<const LoadedModel> model;
    size_t bytes = 0;
  };
  void EvictBeyondBudget();

  Runtime* runtime_;
  size_t budget_;
  mutable std::mutex mu_;
  std::list<Slot> lru_;  // most recent first
  CacheStats stats_;
};

}  // namespace timbre::models
