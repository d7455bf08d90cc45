// What the engine can do and how it is: the analyzers' contracts, the models folder, job
// kinds, spaces and limits (capabilities, the plugin manifest), and its health. The CLI's
// `analyzers`, `models` and the API's /manifest, /health and /v1/capabilities read these.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "timbre/core/status.h"
#include "timbre/models/registry.h"

namespace timbre::service {

class Engine;

// Every analyzer's contract: name, version, description, view, window, parameters and
// outputs (with units), and the models it runs. Sets the analyzers up if they are not yet.
Result<nlohmann::json> AnalyzerContracts(Engine& engine);

// One model entry as `timbre models list/show --json` and the API print it; `full` adds the
// source, description, input, output and tiers.
nlohmann::json ModelJson(const models::ModelEntry& entry, const models::ModelRegistry& registry,
                         bool full);
// A model's state: verified, ok, or the reason it cannot run.
std::string ModelState(const models::ModelEntry& entry);

// The models folder read (and checked against its sha256s when `verify`).
Result<models::ModelRegistry> DiscoverModels(Engine& engine, bool verify);
// Copies a model and its manifest into the models folder after checking the sha256 (a
// mismatch or a bad manifest is InvalidArgument; another model of the same id, AlreadyExists).
// The running engine's analyzers are not reloaded: the model runs from the next start.
Result<models::ModelEntry> ImportModel(Engine& engine, const std::filesystem::path& file,
                                       const std::filesystem::path& manifest);

// GET /v1/capabilities: version, job kinds, priorities, spaces, analyzers, features, limits.
Result<nlohmann::json> Capabilities(Engine& engine);
// GET /manifest: the plugin contract's self-description.
Result<nlohmann::json> PluginManifest(Engine& engine);

// Health: `deep` also checks that the store answers, the timbre-v1 index opens and every
// model is usable; `healthy` says whether all did.
struct Health {
  nlohmann::json body;
  bool healthy = true;
};
Health CheckHealth(Engine& engine, bool deep, double uptime_s);

}  // namespace timbre::service
