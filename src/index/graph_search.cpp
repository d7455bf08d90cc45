#include "graph_search.h"

#include <faiss/impl/HNSW.h>

#include <algorithm>
#include <limits>

#include "timbre/index/distance.h"

namespace timbre::index {
namespace {

using Node = faiss::HNSW::storage_idx_t;

// Which nodes this query has reached: a node is visited when its mark equals the query's
// epoch, so a new query only bumps the epoch (the marks are cleared when it wraps).
struct VisitedMarks {
  std::vector<uint16_t> marks;
  uint16_t epoch = 0;

  void Begin(size_t nodes) {
    if (marks.size() < nodes) marks.resize(nodes, 0);
    if (++epoch == 0) {
      std::fill(marks.begin(), marks.end(), 0);
      epoch = 1;
    }
  }
  void Visit(Node v) { marks[static_cast<size_t>(v)] = epoch; }
};

// What one thread reuses from query to query.
struct Scratch {
  VisitedMarks visited;
  std::vector<GraphHit> candidates;  // min-heap: nodes left to expand
  std::vector<GraphHit> nearest;     // max-heap: the best `breadth` allowed nodes so far
  std::vector<Node> fresh;           // one node's unvisited neighbours
};

// Heap orders, as types so that the heap functions inline them.
struct Farther {
  bool operator()(const GraphHit& a, const GraphHit& b) const { return a.distance > b.distance; }
};
struct Nearer {
  bool operator()(const GraphHit& a, const GraphHit& b) const { return a.distance < b.distance; }
};

// Asks for every cache line of `bytes` (at least one) from `first` on.
void PrefetchBytes(const void* first, size_t bytes) {
  const char* begin = static_cast<const char*>(first);
  const char* last = begin + bytes - 1;
  for (const char* line = begin; line <= last; line += 64) __builtin_prefetch(line);
  __builtin_prefetch(last);
}

class Walk {
 public:
  Walk(const faiss::HNSW& graph, const float* base, size_t dim, bool inner_product,
       const float* query)
      : graph_(graph), base_(base), dim_(dim), inner_product_(inner_product), query_(query) {}

  float Distance(Node v) const {
    const float* row = Row(v);
    return inner_product_ ? -InnerProduct(query_, row, dim_) : SquaredL2(query_, row, dim_);
  }

  // Asks for a row's cache lines ahead of its distance.
  void Prefetch(Node v) const { PrefetchBytes(Row(v), dim_ * sizeof(float)); }

  // Asks for a node's bottom-level neighbour list ahead of its expansion.
  void PrefetchLinks(Node v) const {
    const Node* end = nullptr;
    const Node* first = Links(v, 0, &end);
    PrefetchBytes(first, static_cast<size_t>(end - first) * sizeof(Node));
  }

  // The neighbour list of `v` at `level`; it ends early at the first -1.
  const Node* Links(Node v, int level, const Node** end) const {
    const size_t at = graph_.offsets[static_cast<size_t>(v)];
    *end = graph_.neighbors.data() + at + graph_.cum_nneighbor_per_level[level + 1];
    return graph_.neighbors.data() + at + graph_.cum_nneighbor_per_level[level];
  }

  // Moves to the nearest neighbour while one is nearer (an upper level).
  void Descend(int level, Node& at, float& distance) const {
    for (bool moved = true; moved;) {
      moved = false;
      const Node* end = nullptr;
      const Node* begin = Links(at, level, &end);
      const Node* stop = begin;
      for (; stop != end && *stop >= 0; ++stop) Prefetch(*stop);
      for (const Node* it = begin; it != stop; ++it) {
        const float d = Distance(*it);
        if (d < distance) {
          distance = d;
          at = *it;
          moved = true;
        }
      }
    }
  }

 private:
  const float* Row(Node v) const { return base_ + static_cast<size_t>(v) * dim_; }

  const faiss::HNSW& graph_;
  const float* base_;
  size_t dim_;
  bool inner_product_;
  const float* query_;
};

}  // namespace

bool WalkableGraph(const faiss::HNSW& graph, size_t nodes) {
  const auto& cum = graph.cum_nneighbor_per_level;
  if (graph.levels.size() != nodes || graph.offsets.size() != nodes + 1 || cum.empty() ||
      graph.offsets.front() != 0 || graph.offsets.back() != graph.neighbors.size()) {
    return false;
  }
  const auto top = static_cast<int>(cum.size()) - 1;  // levels the list sizes describe
  for (size_t v = 0; v < nodes; ++v) {
    const int levels = graph.levels[v];
    if (levels < 1 || levels > top ||
        graph.offsets[v + 1] - graph.offsets[v] != static_cast<size_t>(cum[levels])) {
      return false;
    }
    for (int level = 0; level < levels; ++level) {
      for (int j = cum[level]; j < cum[level + 1]; ++j) {
        const Node link = graph.neighbors[graph.offsets[v] + static_cast<size_t>(j)];
        if (link < -1 || link >= static_cast<Node>(nodes) ||
            (link >= 0 && graph.levels[static_cast<size_t>(link)] <= level)) {
          return false;
        }
      }
    }
  }
  if (nodes == 0) return graph.entry_point == -1;
  return graph.entry_point >= 0 && graph.entry_point < static_cast<Node>(nodes) &&
         graph.max_level == graph.levels[static_cast<size_t>(graph.entry_point)] - 1;
}

std::vector<GraphHit> SearchHnswGraph(const faiss::HNSW& graph, const float* base, size_t dim,
                                      bool inner_product, const GraphQuery& query) {
  if (graph.entry_point < 0 || query.k == 0) return {};
  const Walk walk(graph, base, dim, inner_product, query.vector);
  const auto allowed = [&](Node v) {
    return query.allowed == nullptr || (*query.allowed)[static_cast<size_t>(v)] != 0;
  };

  Node at = graph.entry_point;
  float at_distance = walk.Distance(at);
  for (int level = graph.max_level; level >= 1; --level) walk.Descend(level, at, at_distance);

  thread_local Scratch s;
  s.visited.Begin(graph.levels.size());
  s.candidates.clear();
  s.nearest.clear();
  const size_t breadth = std::max(query.breadth, query.k);
  float bound = std::numeric_limits<float>::infinity();  // worst of `nearest` once full
  const auto keep = [&](Node v, float d) {
    walk.PrefetchLinks(v);
    s.candidates.push_back({d, v});
    std::push_heap(s.candidates.begin(), s.candidates.end(), Farther());
    if (!allowed(v)) return;
    s.nearest.push_back({d, v});
    std::push_heap(s.nearest.begin(), s.nearest.end(), Nearer());
    if (s.nearest.size() > breadth) {
      std::pop_heap(s.nearest.begin(), s.nearest.end(), Nearer());
      s.nearest.pop_back();
    }
    if (s.nearest.size() == breadth) bound = s.nearest.front().distance;
  };
  s.visited.Visit(at);
  keep(at, at_distance);
  uint16_t* const marks = s.visited.marks.data();
  const uint16_t epoch = s.visited.epoch;
  const auto links = static_cast<size_t>(graph.cum_nneighbor_per_level[1]);
  if (s.fresh.size() < links) s.fresh.resize(links);
  Node* const fresh_nodes = s.fresh.data();

  while (!s.candidates.empty()) {
    const GraphHit next = s.candidates.front();
    // Without a filter `nearest` fills at once; with one, the walk goes on until it is full.
    if (next.distance > bound) break;
    std::pop_heap(s.candidates.begin(), s.candidates.end(), Farther());
    s.candidates.pop_back();

    // The unvisited neighbours, marked as they are found, without a branch on each mark
    // (whether a neighbour was seen is a coin toss the processor cannot predict).
    const Node* end = nullptr;
    const Node* it = walk.Links(static_cast<Node>(next.position), 0, &end);
    size_t fresh = 0;
    for (; it != end && *it >= 0; ++it) {
      const auto v = static_cast<size_t>(*it);
      fresh_nodes[fresh] = *it;
      fresh += marks[v] != epoch;
      marks[v] = epoch;
    }
    for (size_t i = 0; i < fresh; ++i) walk.Prefetch(fresh_nodes[i]);
    for (size_t i = 0; i < fresh; ++i) {
      const float d = walk.Distance(fresh_nodes[i]);
      if (s.nearest.size() < breadth || d < bound) keep(fresh_nodes[i], d);
    }
  }

  std::sort_heap(s.nearest.begin(), s.nearest.end(), Nearer());
  if (s.nearest.size() > query.k) s.nearest.resize(query.k);
  return s.nearest;
}

}  // namespace timbre::index
