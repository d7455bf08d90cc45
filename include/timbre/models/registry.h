// The models folder: every manifest found in it (and one level of subfolders), each with its
// state. A bad manifest or a missing file is an entry with an error, never a reason to stop
// reading the others. Checksums are checked by Verify(), and before any model is loaded.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "timbre/core/status.h"
#include "timbre/models/manifest.h"

namespace timbre::models {

struct ModelEntry {
  std::filesystem::path manifest_path;
  std::filesystem::path model_path;  // empty when the manifest could not be read
  Manifest manifest;                 // valid only when `manifest_error` is ok
  Status manifest_error;             // bad_manifest, or the manifest could not be read
  Status problem;         // ok, or why the model cannot run: missing_file, checksum_mismatch,
                          // missing_embedder, duplicate_id
  bool verified = false;  // sha256 checked and equal
  int64_t file_size = 0;

  bool usable() const { return manifest_error.ok() && problem.ok(); }
};

// The default folder: $XDG_DATA_HOME/timbre/models (~/.local/share/…); the models.dir setting
// ($TIMBRE_MODELS, --models) names another.
std::filesystem::path DefaultModelsDir();

// A whole file's bytes, and sha256 (lower-case hex) of bytes or of a file.
Result<std::string> ReadFileBytes(const std::filesystem::path& path);
std::string Sha256Hex(std::string_view bytes);
Result<std::string> Sha256File(const std::filesystem::path& path);

class ModelRegistry {
 public:
  // Reads every *.toml of `dir` and of its direct subfolders. A missing folder is an empty
  // registry; an unreadable one is an error.
  static Result<ModelRegistry> Discover(const std::filesystem::path& dir);

  // Checks the sha256 of every usable entry's file (or only `id`'s); mismatches become the
  // entry's problem. Returns how many were checked.
  size_t Verify(const std::string& id = "");

  const std::vector<ModelEntry>& entries() const { return entries_; }
  const ModelEntry* Find(const std::string& id) const;
  const std::filesystem::path& dir() const { return dir_; }

  // Usable embedders and classifiers, each with its usable heads: the unit one analysis runs.
  struct Group {
    const ModelEntry* model = nullptr;
    std::vector<const ModelEntry*> heads;
  };
  std::vector<Group> Groups() const;
  // Usable transcribers (note transcription models), in discovery order.
  std::vector<const ModelEntry*> Transcribers() const;

 private:
  void CheckReferences();

  std::filesystem::path dir_;
  std::vector<ModelEntry> entries_;
};

// Copies a model file and its manifest into `dir` (as <id>.pt / <id>.toml, or the manifest's
// own file name) after checking the manifest and the file's sha256 against it. Refuses to
// overwrite a different model of the same id. Writes through temporary names and renames.
Result<ModelEntry> ImportModel(const std::filesystem::path& file,
                               const std::filesystem::path& manifest,
                               const std::filesystem::path& dir);

}  // namespace timbre::models
