// One query through a FAISS HNSW graph, searched here rather than by FAISS. FAISS 1.7.3
// visits a node's neighbours one at a time, so each distance waits for its vector to come
// from memory; on a graph larger than the core's cache (10k x 46 with 64 links a node is
// ~4.5 MB) those waits were most of a query. This search marks a node's unvisited neighbours
// first and asks for all their vectors at once, so the loads overlap, and it keeps its
// visited marks and heaps per thread instead of allocating them per query.
//
// The graph, its levels and its entry point are FAISS's; only the walk is ours. It is the
// usual HNSW walk: greedy descent through the upper levels, then a best-first search of the
// bottom level that keeps the `breadth` nearest nodes found and stops when the nearest node
// left to expand is farther than all of them. Without a filter those nodes are one sorted
// array, which is also the list left to expand; with one, nodes that may not be returned are
// still expanded, so the walk keeps the two lists apart, as heaps. The walk measures the
// byte codes of walk_codes.h (one cache line a row where the floats take three); the nodes it
// keeps are then measured on the float rows, which give the answer's order and distances.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "timbre/index/walk_codes.h"

namespace faiss {
struct HNSW;
}

namespace timbre::index {

struct GraphQuery {
  const float* vector = nullptr;
  size_t k = 10;
  size_t breadth = 32;  // candidate list (FAISS's efSearch); at least k is used
  // Positions that may be returned (1 = yes); null: all. Others are still walked through.
  const std::vector<uint8_t>* allowed = nullptr;
};

struct GraphHit {
  float distance;  // squared L2, or the negated inner product: smaller is nearer
  int64_t position;
};

// Whether a graph read from a file can be walked: every list where its node's level says,
// every link to a node of `nodes` that lives on that level, the entry point on the top level.
bool WalkableGraph(const faiss::HNSW& graph, size_t nodes);

// `base` holds the graph's vectors row-major, `dim` floats each, and `codes` the same rows
// coded; `inner_product` selects the measure. Returns up to k hits, nearest first.
std::vector<GraphHit> SearchHnswGraph(const faiss::HNSW& graph, const float* base,
                                      const WalkCodes& codes, size_t dim, bool inner_product,
                                      const GraphQuery& query);

}  // namespace timbre::index
