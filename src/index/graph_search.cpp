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

struct BeamSlot {
  float distance;
  Node node;
  bool expanded;
};

// What one thread reuses from query to query.
struct Scratch {
  VisitedMarks visited;
  std::vector<GraphHit> candidates;  // min-heap: nodes left to expand
  std::vector<GraphHit> nearest;     // max-heap: the best `breadth` allowed nodes so far
  std::vector<Node> fresh;           // one node's unvisited neighbours
  std::vector<BeamSlot> beam;        // the unfiltered walk's nearest nodes, sorted
  std::vector<GraphHit> near;        // fresh neighbours nearer than the beam's worst
  std::vector<float> distances;      // of the fresh neighbours
  WalkCodes::Query coded;            // the query as the codes measure it
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
  Walk(const faiss::HNSW& graph, const WalkCodes& codes, const WalkCodes::Query& query)
      : graph_(graph), codes_(codes), query_(query) {}

  float Distance(Node v) const { return codes_.Distance(query_, static_cast<size_t>(v)); }
  void Distances(const Node* nodes, size_t count, float* out) const {
    codes_.Distances(query_, nodes, count, out);
  }

  // Asks for a row's cache lines ahead of its distance.
  void Prefetch(Node v) const {
    PrefetchBytes(codes_.Row(static_cast<size_t>(v)), codes_.stride());
  }

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
  const faiss::HNSW& graph_;
  const WalkCodes& codes_;
  const WalkCodes::Query& query_;
};

// The unvisited bottom-level neighbours of `v`, written to `out` and marked as they are
// found, without a branch on each mark (whether a neighbour was seen is a coin toss the
// processor cannot predict). Returns how many.
size_t Unvisited(const Walk& walk, Node v, VisitedMarks& visited, Node* out) {
  uint16_t* const marks = visited.marks.data();
  const uint16_t epoch = visited.epoch;
  const Node* end = nullptr;
  const Node* it = walk.Links(v, 0, &end);
  size_t fresh = 0;
  for (; it != end && *it >= 0; ++it) {
    const auto u = static_cast<size_t>(*it);
    out[fresh] = *it;
    fresh += marks[u] != epoch;
    marks[u] = epoch;
  }
  for (size_t i = 0; i < fresh; ++i) walk.Prefetch(out[i]);
  return fresh;
}

// The bottom level without a filter. The `breadth` nearest nodes found, kept sorted, are
// both the answer and what is left to expand: a node farther than all of them would never
// be expanded. Keeping a node is a count and a move in a short array, where the two heaps
// of the filtered walk take several comparisons that the processor mispredicts.
std::vector<GraphHit> BeamSearch(const Walk& walk, Scratch& s, size_t breadth, GraphHit entry) {
  s.beam.resize(breadth + 1);  // one spare slot: a node that falls off the end lands there
  BeamSlot* const beam = s.beam.data();
  beam[0] = {entry.distance, static_cast<Node>(entry.position), false};
  size_t size = 1;
  size_t cursor = 0;  // no slot before it is left to expand
  Node* const fresh_nodes = s.fresh.data();
  if (s.near.size() < s.fresh.size()) s.near.resize(s.fresh.size());
  if (s.distances.size() < s.fresh.size()) s.distances.resize(s.fresh.size());
  GraphHit* const near_hits = s.near.data();
  float* const distances = s.distances.data();
  for (;;) {
    while (cursor < size && beam[cursor].expanded) ++cursor;
    if (cursor == size) break;
    beam[cursor].expanded = true;
    const size_t fresh = Unvisited(walk, beam[cursor].node, s.visited, fresh_nodes);
    // The neighbours nearer than the beam's worst, listed without a branch on each: most
    // are not, and which ones are is another coin toss.
    const float worst =
        size == breadth ? beam[breadth - 1].distance : std::numeric_limits<float>::infinity();
    walk.Distances(fresh_nodes, fresh, distances);
    size_t near = 0;
    for (size_t i = 0; i < fresh; ++i) {
      near_hits[near] = {distances[i], fresh_nodes[i]};
      near += distances[i] < worst;
    }
    for (size_t i = 0; i < near; ++i) {
      const auto [d, node] = near_hits[i];
      if (size == breadth && d >= beam[breadth - 1].distance) continue;
      size_t at = 0;  // slots no farther than d: counted, not branched on
      for (size_t j = 0; j < size; ++j) at += beam[j].distance <= d;
      for (size_t j = size; j > at; --j) beam[j] = beam[j - 1];
      beam[at] = {d, static_cast<Node>(node), false};
      size += size < breadth;
      cursor = std::min(cursor, at);
      walk.PrefetchLinks(static_cast<Node>(node));
    }
  }
  std::vector<GraphHit> out(size);
  for (size_t i = 0; i < size; ++i) out[i] = {beam[i].distance, beam[i].node};
  return out;
}

// The bottom level with a filter: nodes that may not be returned are still walked through,
// so the nodes left to expand (a min-heap) and the `breadth` nearest allowed nodes (a
// max-heap) are kept apart, and the walk goes on until the second is full and nothing left
// to expand is nearer than its worst.
std::vector<GraphHit> HeapSearch(const Walk& walk, Scratch& s, size_t breadth,
                                 const std::vector<uint8_t>& allowed, GraphHit entry) {
  s.candidates.clear();
  s.nearest.clear();
  float bound = std::numeric_limits<float>::infinity();  // worst of `nearest` once full
  const auto keep = [&](Node v, float d) {
    walk.PrefetchLinks(v);
    s.candidates.push_back({d, v});
    std::push_heap(s.candidates.begin(), s.candidates.end(), Farther());
    if (allowed[static_cast<size_t>(v)] == 0) return;
    s.nearest.push_back({d, v});
    std::push_heap(s.nearest.begin(), s.nearest.end(), Nearer());
    if (s.nearest.size() > breadth) {
      std::pop_heap(s.nearest.begin(), s.nearest.end(), Nearer());
      s.nearest.pop_back();
    }
    if (s.nearest.size() == breadth) bound = s.nearest.front().distance;
  };
  keep(static_cast<Node>(entry.position), entry.distance);
  Node* const fresh_nodes = s.fresh.data();
  if (s.distances.size() < s.fresh.size()) s.distances.resize(s.fresh.size());
  float* const distances = s.distances.data();
  while (!s.candidates.empty()) {
    const GraphHit next = s.candidates.front();
    if (next.distance > bound) break;
    std::pop_heap(s.candidates.begin(), s.candidates.end(), Farther());
    s.candidates.pop_back();
    const size_t fresh = Unvisited(walk, static_cast<Node>(next.position), s.visited, fresh_nodes);
    walk.Distances(fresh_nodes, fresh, distances);
    for (size_t i = 0; i < fresh; ++i) {
      if (s.nearest.size() < breadth || distances[i] < bound) keep(fresh_nodes[i], distances[i]);
    }
  }
  return s.nearest;  // in heap order: the caller sorts them once measured on the float rows
}

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

std::vector<GraphHit> SearchHnswGraph(const faiss::HNSW& graph, const float* base,
                                      const WalkCodes& codes, size_t dim, bool inner_product,
                                      const GraphQuery& query) {
  if (graph.entry_point < 0 || query.k == 0) return {};
  thread_local Scratch s;
  codes.Prepare(query.vector, s.coded);
  const Walk walk(graph, codes, s.coded);
  Node at = graph.entry_point;
  float at_distance = walk.Distance(at);
  for (int level = graph.max_level; level >= 1; --level) walk.Descend(level, at, at_distance);

  s.visited.Begin(graph.levels.size());
  s.visited.Visit(at);
  const auto links = static_cast<size_t>(graph.cum_nneighbor_per_level[1]);
  if (s.fresh.size() < links) s.fresh.resize(links);
  const size_t breadth = std::max(query.breadth, query.k);
  std::vector<GraphHit> found =
      query.allowed == nullptr ? BeamSearch(walk, s, breadth, {at_distance, at})
                               : HeapSearch(walk, s, breadth, *query.allowed, {at_distance, at});
  // The kept nodes measured again on the float rows: the answer's order and distances are
  // exact.
  for (const GraphHit& hit : found) {
    PrefetchBytes(base + static_cast<size_t>(hit.position) * dim, dim * sizeof(float));
  }
  for (GraphHit& hit : found) {
    const float* row = base + static_cast<size_t>(hit.position) * dim;
    hit.distance =
        inner_product ? -InnerProduct(query.vector, row, dim) : SquaredL2(query.vector, row, dim);
  }
  std::sort(found.begin(), found.end(), [](const GraphHit& a, const GraphHit& b) {
    return a.distance != b.distance ? a.distance < b.distance : a.position < b.position;
  });
  if (found.size() > query.k) found.resize(query.k);
  return found;
}

}  // namespace timbre::index
