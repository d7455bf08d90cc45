// Files that analyses and jobs produce (waveforms, stems, MIDI renderings, images), kept by
// content hash in a folder beside the database: <db>.artifacts/ab/abcdef… (sha256). A file is
// written to a temporary name, synced and renamed into place, then its folder is synced, so a
// crash leaves either no file or a whole one; identical files are kept once. The store's rows
// say which track and analysis each file belongs to, with its size and media type; a file
// that no row names is garbage, removed by Collect() once it is old enough that no write in
// progress may still be about to name it.
//
// Thread safety: every method may be called from any thread and any process at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "timbre/analysis/analyzer.h"
#include "timbre/core/status.h"

namespace timbre::store {

// A file of a track's analysis, as the store records it.
struct StoredArtifact {
  std::string analyzer;
  std::string name;
  std::string sha256;
  int64_t size = 0;
  std::string media_type;
};

// Where a file output went: its hash names it in the folder.
struct PutArtifact {
  std::string sha256;
  int64_t size = 0;
};

class ArtifactFiles {
 public:
  explicit ArtifactFiles(std::filesystem::path dir) : dir_(std::move(dir)) {}

  const std::filesystem::path& dir() const { return dir_; }
  // Stores a file output: its bytes are written, or its file is moved in (copied when it
  // lies on another file system).
  Result<PutArtifact> Put(const analysis::FileOutput& file) const;
  // Where the file with this hash lives (whether it is there or not). A hash that is not 64
  // hex digits is refused, so a request cannot name a path of its own.
  Result<std::filesystem::path> PathOf(const std::string& sha256) const;

  struct Found {
    std::filesystem::path path;
    std::string sha256;  // the file's name
    int64_t size = 0;
    int64_t modified_unix_ms = 0;
  };
  // Every file in the folder (temporary ones left by a crash included, under their names).
  Result<std::vector<Found>> List() const;

 private:
  std::filesystem::path dir_;
};

}  // namespace timbre::store
