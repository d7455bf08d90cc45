// A vector index over FAISS, keyed by track id: exact (flat) search for small collections,
// HNSW above a size threshold; L2 or cosine. Removals leave tombstones that searches skip;
// the owner rebuilds when they pile up.
//
// Filtered search never filters a short candidate list after the fact: a small or selective
// allowed set is searched exactly, a large one through FAISS with an ID selector, and an
// approximate search that comes back short is redone exactly.
//
// Thread safety: const methods may run on many threads at once; Add and Remove need
// exclusive access.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "timbre/core/status.h"

namespace timbre::index {

enum class Metric { kL2, kCosine };
enum class IndexKind { kFlat, kHnsw };
std::string_view MetricName(Metric m);
std::optional<Metric> ParseMetric(std::string_view s);
std::string_view IndexKindName(IndexKind k);

// OpenMP threads of one index build or batched search in this process (FAISS parallelises
// HNSW construction with OpenMP); part of the resource budget.
void SetBuildThreads(int threads);

struct IndexOptions {
  // Exact search while vectors × dimensions stays under this: its cost grows with both, and
  // reading an HNSW graph costs more than scanning a small collection (100k x 46 timbre-v1
  // vectors: a 19 MB file and ~3 ms a query, against a 46 MB HNSW file).
  size_t exact_below_cells = 8000000;
  int hnsw_m = 32;  // graph degree
  int ef_construction = 80;
  // HNSW candidate list while searching (at least k). 32 finds 99.7 % of the exact top 10
  // on 10k timbre-v1 vectors at half the time of 64 (docs/similarity.md).
  int ef_search = 32;
  // From this many vectors on, ef_search_large.
  size_t large_from = 200000;
  int ef_search_large = 128;
  // An allowed set smaller than this fraction of the index is searched exactly.
  double exact_fraction = 0.05;
};

struct Neighbour {
  int64_t key = 0;
  float distance = 0.0f;  // L2: Euclidean distance; cosine: 1 - cosine similarity
};

class VectorIndex {
 public:
  static std::unique_ptr<VectorIndex> Create(size_t dim, Metric metric, IndexKind kind,
                                             const IndexOptions& options);
  // The kind the options choose for `count` vectors of `dim` dimensions.
  static IndexKind KindFor(size_t count, size_t dim, const IndexOptions& options);
  static Result<std::unique_ptr<VectorIndex>> Read(std::FILE* in, const IndexOptions& options);
  Status Write(std::FILE* out) const;

  ~VectorIndex();
  VectorIndex(const VectorIndex&) = delete;
  VectorIndex& operator=(const VectorIndex&) = delete;

  size_t dim() const;
  Metric metric() const;
  IndexKind kind() const;
  size_t size() const;  // live vectors
  size_t tombstones() const;
  bool Contains(int64_t key) const;

  // The HNSW candidate list from now on, whatever the size (for tuning and benchmarks).
  void SetSearchBreadth(int ef);
  int search_breadth() const;  // 0 for exact search

  // Adds `keys.size()` row-major vectors; a key already present is replaced.
  void Add(std::span<const int64_t> keys, const float* vectors);
  void Remove(std::span<const int64_t> keys);
  // The stored vector (unit length under cosine); empty when absent.
  std::vector<float> Vector(int64_t key) const;
  // Every live key, in insertion order.
  std::vector<int64_t> Keys() const;

  // The k nearest live vectors, nearest first. With `allowed` (any order), only those keys:
  // min(k, |allowed ∩ index|) results are guaranteed.
  std::vector<Neighbour> Search(const float* query, size_t k,
                                const std::vector<int64_t>* allowed = nullptr) const;
  // Brute force over the live (and allowed) vectors: the reference for recall.
  std::vector<Neighbour> SearchExact(const float* query, size_t k,
                                     const std::vector<int64_t>* allowed = nullptr) const;

 private:
  struct Impl;
  explicit VectorIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace timbre::index
