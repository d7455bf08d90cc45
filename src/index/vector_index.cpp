#include "timbre/index/vector_index.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/impl/FaissException.h>
#include <faiss/index_io.h>
#include <faiss/utils/distances.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <queue>
#include <unordered_map>

#include <fmt/format.h>

#include "graph_search.h"
#include "timbre/index/distance.h"

namespace timbre::index {
namespace {

constexpr char kMagic[8] = {'T', 'B', 'V', 'E', 'C', 'I', 'X', '1'};

template <typename T>
bool WriteRaw(std::FILE* f, const T* data, size_t count) {
  return count == 0 || std::fwrite(data, sizeof(T), count, f) == count;
}
template <typename T>
bool ReadRaw(std::FILE* f, T* data, size_t count) {
  return count == 0 || std::fread(data, sizeof(T), count, f) == count;
}

// Flat storage for HNSW whose distances are ours: building the graph spends most of its time
// in distances, and Debian's FAISS computes them with its scalar fallback. (Searches walk the
// graph in graph_search.cpp.)
class FastDistance : public faiss::FlatCodesDistanceComputer {
 public:
  explicit FastDistance(const faiss::IndexFlat& storage)
      : FlatCodesDistanceComputer(storage.codes.data(), storage.code_size),
        base_(storage.get_xb()),
        dim_(static_cast<size_t>(storage.d)),
        l2_(storage.metric_type == faiss::METRIC_L2) {}
  void set_query(const float* x) override { query_ = x; }
  float symmetric_dis(idx_t i, idx_t j) override {
    return Measure(base_ + i * dim_, base_ + j * dim_);
  }
  float distance_to_code(const uint8_t* code) override {
    return Measure(query_, reinterpret_cast<const float*>(code));
  }

 private:
  // What FAISS expects of a flat storage: L2 squared, or the inner product itself (its graph
  // construction negates it).
  float Measure(const float* a, const float* b) const {
    return l2_ ? SquaredL2(a, b, dim_) : InnerProduct(a, b, dim_);
  }
  const float* base_;
  size_t dim_;
  bool l2_;
  const float* query_ = nullptr;
};

struct FastFlat : faiss::IndexFlat {
  using faiss::IndexFlat::IndexFlat;
  faiss::FlatCodesDistanceComputer* get_FlatCodesDistanceComputer() const override {
    return new FastDistance(*this);
  }
};

// Gives an HNSW index the fast storage, keeping any vectors it holds.
void UseFastStorage(faiss::IndexHNSW& hnsw) {
  auto* old = dynamic_cast<faiss::IndexFlat*>(hnsw.storage);
  if (old == nullptr || dynamic_cast<FastFlat*>(old) != nullptr) return;
  auto* fast = new FastFlat(old->d, old->metric_type);
  fast->codes = std::move(old->codes);
  fast->ntotal = old->ntotal;
  if (hnsw.own_fields) delete old;
  hnsw.storage = fast;
  hnsw.own_fields = true;
}

}  // namespace

struct VectorIndex::Impl {
  size_t dim = 0;
  Metric metric = Metric::kL2;
  IndexKind kind = IndexKind::kFlat;
  IndexOptions options;
  std::unique_ptr<faiss::Index> index;
  std::vector<int64_t> keys;  // position -> key
  std::vector<uint8_t> live;  // position -> 1 while not removed
  std::unordered_map<int64_t, int64_t> position;
  size_t live_count = 0;
  WalkCodes codes;  // HNSW: the rows as the graph walk measures them

  const float* Data() const {
    const faiss::Index* storage = index.get();
    if (kind == IndexKind::kHnsw) storage = static_cast<const faiss::IndexHNSW*>(storage)->storage;
    return static_cast<const faiss::IndexFlat*>(storage)->get_xb();
  }
  const float* Row(int64_t pos) const { return Data() + static_cast<size_t>(pos) * dim; }

  // Smaller is nearer for both metrics.
  float RawDistance(const float* q, int64_t pos) const {
    return metric == Metric::kL2 ? SquaredL2(q, Row(pos), dim) : -InnerProduct(q, Row(pos), dim);
  }
  float Reported(float raw) const {
    return metric == Metric::kL2 ? std::sqrt(std::max(raw, 0.0f)) : 1.0f + raw;
  }

  std::vector<float> Prepare(const float* v) const {
    std::vector<float> out(v, v + dim);
    if (metric == Metric::kCosine) faiss::fvec_renorm_L2(dim, 1, out.data());
    return out;
  }

  // The candidate list HNSW searches with; FAISS takes at least k. A larger graph needs a
  // longer list for the same recall. Set while the index is being changed, never by a search,
  // so that searches may run on many threads.
  void TuneSearch() {
    if (kind != IndexKind::kHnsw) return;
    static_cast<faiss::IndexHNSW*>(index.get())->hnsw.efSearch =
        live_count >= options.large_from ? options.ef_search_large : options.ef_search;
  }

  void RebuildPositions() {
    position.clear();
    live_count = 0;
    for (size_t p = 0; p < keys.size(); ++p) {
      if (live[p]) {
        position[keys[p]] = static_cast<int64_t>(p);
        ++live_count;
      }
    }
  }

  std::vector<Neighbour> Exact(const float* q, size_t k,
                               const std::vector<int64_t>* positions) const {
    using Item = std::pair<float, int64_t>;  // raw distance, position; max-heap keeps the k best
    std::priority_queue<Item> heap;
    auto consider = [&](int64_t pos) {
      const float d = RawDistance(q, pos);
      if (heap.size() < k) {
        heap.emplace(d, pos);
      } else if (d < heap.top().first) {
        heap.pop();
        heap.emplace(d, pos);
      }
    };
    if (positions != nullptr) {
      for (int64_t pos : *positions) consider(pos);
    } else {
      for (size_t p = 0; p < keys.size(); ++p) {
        if (live[p]) consider(static_cast<int64_t>(p));
      }
    }
    std::vector<Neighbour> out(heap.size());
    for (size_t i = out.size(); i-- > 0;) {
      out[i] = {keys[heap.top().second], Reported(heap.top().first)};
      heap.pop();
    }
    return out;
  }
};

std::string_view MetricName(Metric m) { return m == Metric::kL2 ? "l2" : "cosine"; }

std::optional<Metric> ParseMetric(std::string_view s) {
  if (s == "l2") return Metric::kL2;
  if (s == "cosine") return Metric::kCosine;
  return std::nullopt;
}

void SetBuildThreads(int threads) { omp_set_num_threads(std::max(1, threads)); }

std::string_view IndexKindName(IndexKind k) { return k == IndexKind::kFlat ? "flat" : "hnsw"; }

VectorIndex::VectorIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VectorIndex::~VectorIndex() = default;

IndexKind VectorIndex::KindFor(size_t count, size_t dim, const IndexOptions& options) {
  return count * dim < options.exact_below_cells ? IndexKind::kFlat : IndexKind::kHnsw;
}

std::unique_ptr<VectorIndex> VectorIndex::Create(size_t dim, Metric metric, IndexKind kind,
                                                 const IndexOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->dim = dim;
  impl->metric = metric;
  impl->kind = kind;
  impl->options = options;
  const faiss::MetricType fm =
      metric == Metric::kL2 ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT;
  const int d = static_cast<int>(dim);
  if (kind == IndexKind::kFlat) {
    impl->index = std::make_unique<faiss::IndexFlat>(d, fm);
  } else {
    auto hnsw = std::make_unique<faiss::IndexHNSWFlat>(d, options.hnsw_m, fm);
    hnsw->hnsw.efConstruction = options.ef_construction;
    UseFastStorage(*hnsw);
    impl->index = std::move(hnsw);
    impl->codes.Encode(nullptr, 0, dim, metric != Metric::kL2);
  }
  impl->TuneSearch();
  return std::unique_ptr<VectorIndex>(new VectorIndex(std::move(impl)));
}

size_t VectorIndex::dim() const { return impl_->dim; }
Metric VectorIndex::metric() const { return impl_->metric; }
IndexKind VectorIndex::kind() const { return impl_->kind; }
size_t VectorIndex::size() const { return impl_->live_count; }
size_t VectorIndex::tombstones() const { return impl_->keys.size() - impl_->live_count; }
bool VectorIndex::Contains(int64_t key) const { return impl_->position.contains(key); }

void VectorIndex::Add(std::span<const int64_t> keys, const float* vectors) {
  if (keys.empty()) return;
  Remove(keys);
  std::vector<float> rows(vectors, vectors + keys.size() * impl_->dim);
  if (impl_->metric == Metric::kCosine) {
    faiss::fvec_renorm_L2(impl_->dim, keys.size(), rows.data());
  }
  const int64_t first = static_cast<int64_t>(impl_->keys.size());
  impl_->index->add(static_cast<faiss::Index::idx_t>(keys.size()), rows.data());
  for (size_t i = 0; i < keys.size(); ++i) {
    impl_->keys.push_back(keys[i]);
    impl_->live.push_back(1);
    impl_->position[keys[i]] = first + static_cast<int64_t>(i);
    ++impl_->live_count;
  }
  if (impl_->kind == IndexKind::kHnsw) impl_->codes.Extend(impl_->Data(), impl_->keys.size());
  impl_->TuneSearch();
}

void VectorIndex::SetSearchBreadth(int ef) {
  impl_->options.ef_search = ef;
  impl_->options.ef_search_large = ef;
  impl_->TuneSearch();
}

int VectorIndex::search_breadth() const {
  if (impl_->kind != IndexKind::kHnsw) return 0;
  return static_cast<const faiss::IndexHNSW*>(impl_->index.get())->hnsw.efSearch;
}

void VectorIndex::Remove(std::span<const int64_t> keys) {
  for (int64_t key : keys) {
    auto it = impl_->position.find(key);
    if (it == impl_->position.end()) continue;
    impl_->live[it->second] = 0;
    impl_->position.erase(it);
    --impl_->live_count;
  }
}

std::vector<float> VectorIndex::Vector(int64_t key) const {
  auto it = impl_->position.find(key);
  if (it == impl_->position.end()) return {};
  const float* row = impl_->Row(it->second);
  return {row, row + impl_->dim};
}

std::vector<int64_t> VectorIndex::Keys() const {
  std::vector<int64_t> out;
  out.reserve(impl_->live_count);
  for (size_t p = 0; p < impl_->keys.size(); ++p) {
    if (impl_->live[p]) out.push_back(impl_->keys[p]);
  }
  return out;
}

std::vector<Neighbour> VectorIndex::SearchExact(const float* query, size_t k,
                                                const std::vector<int64_t>* allowed) const {
  if (k == 0 || impl_->live_count == 0) return {};
  const std::vector<float> q = impl_->Prepare(query);
  if (allowed == nullptr) return impl_->Exact(q.data(), k, nullptr);
  std::vector<int64_t> positions;
  positions.reserve(allowed->size());
  for (int64_t key : *allowed) {
    auto it = impl_->position.find(key);
    if (it != impl_->position.end()) positions.push_back(it->second);
  }
  std::sort(positions.begin(), positions.end());
  positions.erase(std::unique(positions.begin(), positions.end()), positions.end());
  return impl_->Exact(q.data(), k, &positions);
}

std::vector<Neighbour> VectorIndex::Search(const float* query, size_t k,
                                           const std::vector<int64_t>* allowed) const {
  const Impl& m = *impl_;
  if (k == 0 || m.live_count == 0) return {};
  if (m.kind == IndexKind::kFlat) return SearchExact(query, k, allowed);

  // The allowed positions as a bitmap; without a filter, only tombstones are excluded.
  std::vector<uint8_t> bits;
  size_t candidates = m.live_count;
  if (allowed != nullptr) {
    bits.assign(m.keys.size(), 0);
    candidates = 0;
    for (int64_t key : *allowed) {
      auto it = m.position.find(key);
      if (it != m.position.end() && !bits[it->second]) {
        bits[it->second] = 1;
        ++candidates;
      }
    }
    const double fraction = static_cast<double>(candidates) / static_cast<double>(m.live_count);
    if (candidates <= k || fraction < m.options.exact_fraction) {
      return SearchExact(query, k, allowed);
    }
  }
  const size_t want = std::min(k, candidates);
  const std::vector<float> q = m.Prepare(query);
  const auto& hnsw = *static_cast<const faiss::IndexHNSW*>(m.index.get());
  GraphQuery graph_query;
  graph_query.vector = q.data();
  graph_query.k = k;
  graph_query.breadth = static_cast<size_t>(hnsw.hnsw.efSearch);
  if (allowed != nullptr) {
    graph_query.allowed = &bits;
  } else if (m.live_count < m.keys.size()) {
    graph_query.allowed = &m.live;
  }
  std::vector<Neighbour> out;
  out.reserve(k);
  for (const GraphHit& hit :
       SearchHnswGraph(hnsw.hnsw, m.Data(), m.codes, m.dim, m.metric != Metric::kL2, graph_query)) {
    out.push_back({m.keys[static_cast<size_t>(hit.position)], m.Reported(hit.distance)});
  }
  if (out.size() < want) return SearchExact(query, k, allowed);
  return out;
}

Status VectorIndex::Write(std::FILE* out) const {
  const Impl& m = *impl_;
  const uint64_t header[4] = {m.dim, m.metric == Metric::kL2 ? 0u : 1u,
                              m.kind == IndexKind::kFlat ? 0u : 1u, m.keys.size()};
  bool ok = WriteRaw(out, kMagic, sizeof(kMagic)) && WriteRaw(out, header, 4) &&
            WriteRaw(out, m.keys.data(), m.keys.size()) &&
            WriteRaw(out, m.live.data(), m.live.size());
  if (!ok) return IoError("cannot write the vector index (disk full?)");
  try {
    faiss::write_index(m.index.get(), out);
  } catch (const faiss::FaissException& e) {
    return IoError(fmt::format("cannot write the vector index: {}", e.what()));
  }
  return Status::Ok();
}

Result<std::unique_ptr<VectorIndex>> VectorIndex::Read(std::FILE* in, const IndexOptions& options) {
  char magic[sizeof(kMagic)];
  uint64_t header[4];
  if (!ReadRaw(in, magic, sizeof(magic)) || std::memcmp(magic, kMagic, sizeof(kMagic)) != 0 ||
      !ReadRaw(in, header, 4)) {
    return Corrupt("not a timbre vector index");
  }
  if (header[0] == 0 || header[0] > 65536 || header[1] > 1 || header[2] > 1 ||
      header[3] > (uint64_t{1} << 34)) {
    return Corrupt("the vector index header is damaged");
  }
  auto impl = std::make_unique<Impl>();
  impl->dim = header[0];
  impl->metric = header[1] == 0 ? Metric::kL2 : Metric::kCosine;
  impl->kind = header[2] == 0 ? IndexKind::kFlat : IndexKind::kHnsw;
  impl->options = options;
  impl->keys.resize(header[3]);
  impl->live.resize(header[3]);
  if (!ReadRaw(in, impl->keys.data(), impl->keys.size()) ||
      !ReadRaw(in, impl->live.data(), impl->live.size())) {
    return Corrupt("the vector index is truncated");
  }
  try {
    impl->index.reset(faiss::read_index(in));
  } catch (const std::exception& e) {  // FAISS's own checks, or a size that cannot be allocated
    return Corrupt(fmt::format("the vector index is damaged: {}", e.what()));
  }
  // An HNSW graph is walked here (graph_search.h) over its flat storage's rows, so it must
  // have that storage and a graph whose links all lead somewhere.
  const auto* graph = dynamic_cast<faiss::IndexHNSWFlat*>(impl->index.get());
  const auto* rows =
      graph != nullptr ? dynamic_cast<const faiss::IndexFlat*>(graph->storage) : nullptr;
  const bool hnsw = rows != nullptr && rows->ntotal == graph->ntotal && rows->d == graph->d &&
                    rows->codes.size() == static_cast<size_t>(rows->ntotal) * rows->code_size &&
                    WalkableGraph(graph->hnsw, static_cast<size_t>(graph->ntotal));
  const bool flat = dynamic_cast<faiss::IndexFlat*>(impl->index.get()) != nullptr;
  if ((impl->kind == IndexKind::kHnsw ? !hnsw : !flat) ||
      static_cast<size_t>(impl->index->d) != impl->dim ||
      static_cast<size_t>(impl->index->ntotal) != impl->keys.size()) {
    return Corrupt("the vector index does not match its header");
  }
  if (hnsw) {
    UseFastStorage(*static_cast<faiss::IndexHNSW*>(impl->index.get()));
    impl->codes.Encode(impl->Data(), impl->keys.size(), impl->dim, impl->metric != Metric::kL2);
  }
  impl->RebuildPositions();
  impl->TuneSearch();
  return std::unique_ptr<VectorIndex>(new VectorIndex(std::move(impl)));
}

}  // namespace timbre::index
