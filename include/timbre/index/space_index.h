// One embedding space's index, persisted beside the store and kept in step with it.
//
// Open() loads `<index_dir>/<space>.tbx`, applies the changes the store logged since the file
// was written (vectors added or replaced, tracks gone), and rebuilds from the store when the
// file is missing, damaged, from another format, or has drifted too far (many tombstones,
// the library grew past the exact-search size, or — for library-normalised spaces — the
// library's size moved by a quarter since the normalisation was fitted). Writers (scan,
// `timbre index`) open with kDeriveMissing: for `timbre-v1` they first derive the vectors of
// tracks that have none from their stored descriptors, and save the index file. Queries open
// with kReadOnly: they skip that search of the whole store and never write a file.
//
// Thread safety: an opened SpaceIndex is read-only; its const methods may run on any thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "timbre/core/status.h"
#include "timbre/index/scaler.h"
#include "timbre/index/vector_index.h"
#include "timbre/store/store.h"

namespace timbre::index {

// How a space is compared: timbre-v1 is library-normalised under L2; model embeddings are
// compared by cosine as they come.
struct SpaceSpec {
  std::string name;
  Metric metric = Metric::kCosine;
  bool library_normalised = false;
};
SpaceSpec DescribeSpace(const std::string& name);

struct SyncReport {
  std::string space;
  size_t vectors = 0;  // in the index after the sync
  size_t derived = 0;  // timbre-v1 vectors made from descriptors during the sync
  size_t applied = 0;  // changed tracks applied incrementally
  bool rebuilt = false;
  std::string rebuild_reason;  // why, when rebuilt
  bool saved = false;          // the file was (re)written
  std::string save_error;      // the index still works in memory when saving failed
  IndexKind kind = IndexKind::kFlat;
  double seconds = 0.0;
};

enum class SyncMode { kDeriveMissing, kReadOnly };

class SpaceIndex {
 public:
  static Result<std::unique_ptr<SpaceIndex>> Open(store::Store& store, const std::string& space,
                                                  SyncMode mode, const IndexOptions& options = {},
                                                  SyncReport* report = nullptr);

  const SpaceSpec& spec() const { return spec_; }
  const VectorIndex& vectors() const { return *vectors_; }
  bool Contains(int64_t track) const { return vectors_->Contains(track); }

  // The same vectors in an index of another kind: a server answering many queries wants
  // HNSW well below the size where loading one pays off for a single command.
  std::unique_ptr<SpaceIndex> Rebuilt(IndexKind kind, const IndexOptions& options) const;

  // Nearest tracks to a track in the index (itself excluded), within `allowed` if given.
  Result<std::vector<Neighbour>> Similar(int64_t track, size_t n,
                                         const std::vector<int64_t>* allowed = nullptr) const;

 private:
  SpaceIndex(SpaceSpec spec, std::unique_ptr<VectorIndex> vectors)
      : spec_(std::move(spec)), vectors_(std::move(vectors)) {}
  SpaceSpec spec_;
  std::unique_ptr<VectorIndex> vectors_;
};

// Derives timbre-v1 vectors for ok tracks that lack one; returns how many were stored.
Result<size_t> DeriveTimbreV1Vectors(store::Store& store);

// The file that holds a space's index.
std::filesystem::path SpaceIndexPath(const store::Store& store, const std::string& space);

}  // namespace timbre::index
