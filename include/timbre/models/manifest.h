// Model manifests (docs/models.md): the TOML file beside each model that says what the model
// is, where it came from, its checksum, what it reads and what it returns. Parsing checks
// every field and names the one that is wrong.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "timbre/core/status.h"
#include "timbre/dsp/logmel.h"

namespace timbre::models {

enum class ModelKind { kEmbedder, kHead, kClassifier, kTranscriber };
std::string_view ModelKindName(ModelKind kind);

enum class Activation { kNone, kSoftmax, kSigmoid };
std::string_view ActivationName(Activation a);

enum class TensorLayout {
  kPatchFramesBands,         // [N, frames, bands]
  kPatchChannelFramesBands,  // [N, 1, frames, bands]
};

struct TierRule {
  double probability = 0.0;
  double margin = 0.0;
  double spread = 0.0;
  bool operator==(const TierRule&) const = default;
};

struct TierRules {
  bool multilabel = false;          // opposing score: 1 − p instead of the best other label
  std::vector<std::string> labels;  // labels that may become tags; empty = all
  std::vector<std::pair<std::string, std::string>> contradicts;
  TierRule high{0.75, 0.50, 0.15};
  TierRule medium{0.60, 0.20, 0.25};
  TierRule low{0.50, 0.05, 0.35};
};

// What a transcriber reads: mono audio at `sample_rate` in windows of `window` samples.
struct WaveformSpec {
  int sample_rate = 0;
  size_t window = 0;
  bool operator==(const WaveformSpec&) const = default;
};

struct Manifest {
  std::string id;
  std::string name;
  std::string version;
  std::string framework;
  std::string runtime = "torchscript";
  ModelKind kind = ModelKind::kEmbedder;
  std::string file;
  std::string sha256;
  std::string license;
  std::string source;
  std::string description;

  std::string embedder;      // heads: the embedder they read
  dsp::LogMelSpec frontend;  // embedders and classifiers
  TensorLayout layout = TensorLayout::kPatchFramesBands;
  WaveformSpec waveform;  // transcribers

  size_t dim = 0;                   // embedders
  std::vector<std::string> labels;  // heads and classifiers
  Activation activation = Activation::kNone;
  size_t tuple_index = 0;
  TierRules tiers;
  // Transcribers return one [windows, frames, bins] tensor per name, in this order.
  std::vector<std::string> output_names;
  size_t output_frames = 0;

  bool reads_audio() const { return kind != ModelKind::kHead; }
  // The number of values per patch the model returns.
  size_t output_size() const { return kind == ModelKind::kEmbedder ? dim : labels.size(); }
};

// Parses a manifest's text; `origin` names it in errors. Errors are InvalidArgument with
// reason "bad_manifest" and say which field is wrong and why.
Result<Manifest> ParseManifest(std::string_view toml, const std::string& origin);
Result<Manifest> LoadManifest(const std::filesystem::path& path);

// A namespace part of a tag name: ASCII lower case, dots become hyphens, anything else that
// is not a letter, digit, hyphen or underscore becomes an underscore.
std::string NamespacePart(std::string_view s);

// nom:<framework>_<embedder>_<embedder_id>_<model>_<model_id>_ — the prefix of every tag a
// head (or a classifier, which is its own embedder) emits.
std::string TagPrefix(const Manifest& model, const Manifest* embedder);

// "model:<id>" with dots as hyphens: the analysis and embedding space of an embedder or
// classifier.
std::string AnalysisName(const Manifest& model);

}  // namespace timbre::models
