// Analyzers that run the models of a models folder (docs/models.md): one per usable embedder,
// which also runs every head that reads it, and one per classifier. Each computes its log-mel
// frontend from the pipeline's shared STFT, runs its models on batches of patches as the
// audio streams (memory stays bounded), and returns label scores, tiers, tags and the mean
// embedding.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "timbre/analysis/analyzer.h"
#include "timbre/analysis/registry.h"
#include "timbre/models/model_cache.h"
#include "timbre/models/registry.h"

namespace timbre::analysis {

struct ModelRunOptions {
  size_t batch = 16;  // patches per forward pass
};

// The registry's entries are copied; `cache` must outlive the analyzers.
std::vector<std::unique_ptr<Analyzer>> MakeModelAnalyzers(const models::ModelRegistry& registry,
                                                          models::ModelCache& cache,
                                                          const ModelRunOptions& options);

// The `notes` analyzer over a transcriber model shaped like Basic Pitch (docs/notes.md);
// another shape is refused with reason unsupported_transcriber.
Result<std::unique_ptr<Analyzer>> MakeNotesAnalyzer(const models::ModelEntry& model,
                                                    models::ModelCache& cache,
                                                    const ModelRunOptions& options);

// Why `notes` is absent when no transcriber is installed, with the command that installs one.
std::string NotesNotInstalled(const std::filesystem::path& models_dir);

struct ModelSetupOptions {
  std::filesystem::path dir;  // the models folder
  size_t memory_budget_mb = 2048;
  int threads = 1;  // libtorch intra-op threads
  ModelRunOptions run;
};

// What a process keeps while its model analyzers live: the folder's registry, the loaded
// models, and why any model was left out.
struct ModelSetup {
  models::ModelRegistry registry;
  std::unique_ptr<models::ModelCache> cache;
  std::vector<std::string> warnings;
  size_t analyzers = 0;       // added to the registry
  std::string notes_missing;  // NotesNotInstalled(...) when no transcriber runs
};

// Reads and verifies the models folder and adds one analyzer per usable embedder (with its
// heads) or classifier to `analyzers`, and `notes` over the first usable transcriber. Models that
// cannot run become warnings; only a folder that cannot be read is an error.
Result<std::unique_ptr<ModelSetup>> AddModelAnalyzers(const ModelSetupOptions& options,
                                                      Registry& analyzers);

}  // namespace timbre::analysis
