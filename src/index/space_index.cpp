#include "timbre/index/space_index.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "timbre/index/timbre_v1.h"

namespace timbre::index {
namespace {

constexpr char kFileMagic[8] = {'T', 'B', 'S', 'P', 'A', 'C', 'E', '1'};
constexpr int kFormat = 1;
constexpr size_t kDeriveBatch = 1000;

using json = nlohmann::json;

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

// What the file says about its index, besides the vectors.
struct Meta {
  std::string store_id;  // the database the index was built from
  std::string space;
  Metric metric = Metric::kL2;
  bool library_normalised = false;
  int64_t last_change = 0;
  FeatureScaler scaler;
};

std::vector<float> TimbreV1Weights() {
  const auto& groups = TimbreV1Groups();
  std::map<std::string, size_t> group_index;
  std::vector<double> weights;
  for (const auto& g : groups) {
    group_index[g.name] = weights.size();
    weights.push_back(g.weight);
  }
  std::vector<size_t> group_of;
  for (const auto& f : TimbreV1Features()) group_of.push_back(group_index.at(f.group));
  return GroupWeights(group_of, weights);
}

json MetaJson(const Meta& m) {
  return json{{"format", kFormat},
              {"store_id", m.store_id},
              {"space", m.space},
              {"metric", MetricName(m.metric)},
              {"library_normalised", m.library_normalised},
              {"last_change", m.last_change},
              {"scaler",
               {{"center", m.scaler.center},
                {"scale", m.scaler.scale},
                {"weight", m.scaler.weight},
                {"fitted_rows", m.scaler.fitted_rows}}}};
}

Result<Meta> ParseMeta(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Corrupt("the index metadata is not JSON");
  try {
    if (j.at("format").get<int>() != kFormat) return Unsupported("index format changed");
    Meta m;
    m.store_id = j.at("store_id").get<std::string>();
    m.space = j.at("space").get<std::string>();
    auto metric = ParseMetric(j.at("metric").get<std::string>());
    if (!metric) return Corrupt("unknown metric in the index metadata");
    m.metric = *metric;
    m.library_normalised = j.at("library_normalised").get<bool>();
    m.last_change = j.at("last_change").get<int64_t>();
    const json& s = j.at("scaler");
    m.scaler.center = s.at("center").get<std::vector<float>>();
    m.scaler.scale = s.at("scale").get<std::vector<float>>();
    m.scaler.weight = s.at("weight").get<std::vector<float>>();
    m.scaler.fitted_rows = s.at("fitted_rows").get<size_t>();
    if (m.scaler.scale.size() != m.scaler.center.size() ||
        m.scaler.weight.size() != m.scaler.center.size()) {
      return Corrupt("the index scaler is inconsistent");
    }
    return m;
  } catch (const json::exception& e) {
    return Corrupt(fmt::format("the index metadata is incomplete: {}", e.what()));
  }
}

struct Loaded {
  Meta meta;
  std::unique_ptr<VectorIndex> vectors;
};

Result<Loaded> ReadIndexFile(const std::filesystem::path& path, const IndexOptions& options) {
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) return NotFound(fmt::format("no index file {}", path.string()));
  char magic[sizeof(kFileMagic)];
  uint64_t meta_len = 0;
  if (std::fread(magic, 1, sizeof(magic), f.get()) != sizeof(magic) ||
      std::memcmp(magic, kFileMagic, sizeof(magic)) != 0 ||
      std::fread(&meta_len, sizeof(meta_len), 1, f.get()) != 1 || meta_len > (1u << 26)) {
    return Corrupt("not a timbre index file");
  }
  std::string text(meta_len, '\0');
  if (std::fread(text.data(), 1, meta_len, f.get()) != meta_len) {
    return Corrupt("the index file is truncated");
  }
  auto meta = ParseMeta(text);
  if (!meta.ok()) return meta.status();
  auto vectors = VectorIndex::Read(f.get(), options);
  if (!vectors.ok()) return vectors.status();
  return Loaded{std::move(meta).value(), std::move(vectors).value()};
}

// Writes beside the target and renames, so readers never see half a file.
Status WriteIndexFile(const std::filesystem::path& path, const Meta& meta,
                      const VectorIndex& vectors) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec)
    return IoError(fmt::format("cannot create {}: {}", path.parent_path().string(), ec.message()));
  const std::filesystem::path tmp = path.string() + fmt::format(".tmp{}", ::getpid());
  {
    File f(std::fopen(tmp.c_str(), "wb"));
    if (!f) return IoError(fmt::format("cannot write {}: {}", tmp.string(), std::strerror(errno)));
    const std::string text = MetaJson(meta).dump();
    const uint64_t len = text.size();
    Status st = Status::Ok();
    if (std::fwrite(kFileMagic, 1, sizeof(kFileMagic), f.get()) != sizeof(kFileMagic) ||
        std::fwrite(&len, sizeof(len), 1, f.get()) != 1 ||
        std::fwrite(text.data(), 1, text.size(), f.get()) != text.size()) {
      st = IoError("cannot write the index file (disk full?)");
    }
    if (st.ok()) st = vectors.Write(f.get());
    if (st.ok() && (std::fflush(f.get()) != 0 || ::fsync(fileno(f.get())) != 0)) {
      st = IoError(fmt::format("cannot write the index file: {}", std::strerror(errno)));
    }
    if (!st.ok()) {
      f.reset();
      std::filesystem::remove(tmp, ec);
      return st;
    }
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return IoError(fmt::format("cannot replace {}: {}", path.string(), ec.message()));
  }
  return Status::Ok();
}

// Vectors as the index holds them: scaled for library-normalised spaces.
std::vector<float> Prepared(const Meta& meta, const std::vector<float>& raw) {
  return meta.library_normalised ? meta.scaler.Apply(raw) : raw;
}

Result<Loaded> Rebuild(store::Store& store, const SpaceSpec& spec, int64_t last_change,
                       const IndexOptions& options) {
  auto rows = store.LoadEmbeddings(spec.name);
  if (!rows.ok()) return rows.status();
  Meta meta;
  meta.store_id = store.instance_id();
  meta.space = spec.name;
  meta.metric = spec.metric;
  meta.library_normalised = spec.library_normalised;
  meta.last_change = last_change;
  const size_t dim = rows->empty() ? (spec.name == kTimbreV1Space ? TimbreV1Features().size() : 1)
                                   : rows->front().vector.size();
  if (spec.library_normalised) {
    std::vector<std::vector<float>> raw;
    raw.reserve(rows->size());
    for (const auto& r : *rows) {
      if (r.vector.size() == dim) raw.push_back(r.vector);
    }
    meta.scaler = FeatureScaler::Fit(raw, TimbreV1Weights());
  }
  auto vectors = VectorIndex::Create(dim, spec.metric,
                                     VectorIndex::KindFor(rows->size(), dim, options), options);
  std::vector<int64_t> keys;
  std::vector<float> data;
  keys.reserve(rows->size());
  data.reserve(rows->size() * dim);
  for (const auto& r : *rows) {
    if (r.vector.size() != dim) continue;  // a vector of another shape cannot share the space
    keys.push_back(r.track_id);
    const auto v = Prepared(meta, r.vector);
    data.insert(data.end(), v.begin(), v.end());
  }
  vectors->Add(keys, data.data());
  return Loaded{std::move(meta), std::move(vectors)};
}

// Applies the tracks changed since the file was written; false when a rebuild is better.
Result<bool> ApplyChanges(store::Store& store, Loaded& loaded, int64_t last_change,
                          size_t* applied) {
  auto changed = store.TracksChangedSince(loaded.meta.last_change);
  if (!changed.ok()) return changed.status();
  *applied = changed->size();
  if (changed->size() > loaded.vectors->size() / 4 + 64) return false;
  auto rows = store.LoadEmbeddings(loaded.meta.space, &changed.value());
  if (!rows.ok()) return rows.status();
  loaded.vectors->Remove(*changed);
  // A normalised space's raw vectors have the index's dimension too (one scale per feature).
  for (const auto& r : *rows) {
    if (r.vector.size() != loaded.vectors->dim()) continue;
    const auto v = Prepared(loaded.meta, r.vector);
    const int64_t key = r.track_id;
    loaded.vectors->Add(std::span<const int64_t>(&key, 1), v.data());
  }
  loaded.meta.last_change = last_change;
  return true;
}

// Why an index that is up to date should still be rebuilt, or "" when it should not.
std::string DriftReason(const Loaded& loaded, const IndexOptions& options) {
  const VectorIndex& v = *loaded.vectors;
  if (v.tombstones() > v.size() / 5 + 16) return "many removed vectors";
  if (v.kind() != VectorIndex::KindFor(v.size(), v.dim(), options))
    return "size crossed the exact-search threshold";
  if (loaded.meta.library_normalised) {
    const double fitted = static_cast<double>(loaded.meta.scaler.fitted_rows);
    if (std::abs(static_cast<double>(v.size()) - fitted) > 0.25 * fitted + 8) {
      return "the library changed size since normalisation";
    }
  }
  return "";
}

}  // namespace

SpaceSpec DescribeSpace(const std::string& name) {
  if (name == kTimbreV1Space) return {name, Metric::kL2, true};
  return {name, Metric::kCosine, false};
}

std::filesystem::path SpaceIndexPath(const store::Store& store, const std::string& space) {
  std::string file;
  for (char c : space)
    file +=
        (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_') ? c : '_';
  return store.index_dir() / (file + ".tbx");
}

Result<size_t> DeriveTimbreV1Vectors(store::Store& store) {
  auto missing = store.NumbersOfTracksWithout(kTimbreV1Space);
  if (!missing.ok()) return missing.status();
  std::vector<store::EmbeddingWrite> batch;
  size_t stored = 0;
  for (const auto& t : *missing) {
    auto v = TimbreV1Vector(t.numbers);
    if (!v) continue;
    batch.push_back({t.track_id, kTimbreV1Space, kTimbreV1Source, std::move(*v)});
    if (batch.size() == kDeriveBatch) {
      TIMBRE_RETURN_IF_ERROR(store.PutEmbeddings(batch));
      stored += batch.size();
      batch.clear();
    }
  }
  if (!batch.empty()) TIMBRE_RETURN_IF_ERROR(store.PutEmbeddings(batch));
  return stored + batch.size();
}

Result<std::unique_ptr<SpaceIndex>> SpaceIndex::Open(store::Store& store, const std::string& space,
                                                     SyncMode mode, const IndexOptions& options,
                                                     SyncReport* report) {
  const auto started = std::chrono::steady_clock::now();
  SyncReport local;
  SyncReport& r = report != nullptr ? *report : local;
  r = SyncReport{};
  r.space = space;
  const SpaceSpec spec = DescribeSpace(space);
  if (space == kTimbreV1Space && mode == SyncMode::kDeriveMissing) {
    auto derived = DeriveTimbreV1Vectors(store);
    if (!derived.ok()) return derived.status();
    r.derived = *derived;
  }
  // Read the change number first: changes made while we load are applied next time.
  auto last = store.LastChange();
  if (!last.ok()) return last.status();
  const auto path = SpaceIndexPath(store, space);

  auto loaded = ReadIndexFile(path, options);
  bool dirty = false;
  if (!loaded.ok()) {
    r.rebuilt = true;
    r.rebuild_reason = loaded.status().code() == StatusCode::kNotFound
                           ? "no index yet"
                           : fmt::format("unreadable index ({})", loaded.status().message());
  } else if (loaded->meta.store_id != store.instance_id()) {
    // The change numbers of another database say nothing about this one.
    r.rebuilt = true;
    r.rebuild_reason = "the index belongs to another database";
  } else if (loaded->meta.space != space || loaded->meta.metric != spec.metric ||
             loaded->meta.library_normalised != spec.library_normalised) {
    r.rebuilt = true;
    r.rebuild_reason = "the space's definition changed";
  } else if (loaded->meta.last_change != *last) {
    auto applied = ApplyChanges(store, *loaded, *last, &r.applied);
    if (!applied.ok()) return applied.status();
    if (!*applied) {
      r.rebuilt = true;
      r.rebuild_reason = "many tracks changed";
    }
    dirty = true;
  }
  if (!r.rebuilt && loaded.ok()) {
    const std::string drift = DriftReason(*loaded, options);
    if (!drift.empty()) {
      r.rebuilt = true;
      r.rebuild_reason = drift;
    }
  }
  if (r.rebuilt) {
    loaded = Rebuild(store, spec, *last, options);
    if (!loaded.ok()) return loaded.status();
    dirty = true;
    r.applied = 0;
  }
  // A query never changes files on disk: a read-only open works in memory, and the next
  // writer (a scan, `timbre index`) saves.
  if (dirty && mode != SyncMode::kReadOnly) {
    Status saved = WriteIndexFile(path, loaded->meta, *loaded->vectors);
    r.saved = saved.ok();
    if (!saved.ok()) r.save_error = saved.message();
  }
  r.vectors = loaded->vectors->size();
  r.kind = loaded->vectors->kind();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return std::unique_ptr<SpaceIndex>(new SpaceIndex(spec, std::move(loaded->vectors)));
}

std::unique_ptr<SpaceIndex> SpaceIndex::Rebuilt(IndexKind kind, const IndexOptions& options) const {
  const std::vector<int64_t> keys = vectors_->Keys();
  std::vector<float> rows;
  rows.reserve(keys.size() * vectors_->dim());
  for (int64_t key : keys) {
    const std::vector<float> v = vectors_->Vector(key);
    rows.insert(rows.end(), v.begin(), v.end());
  }
  auto vectors = VectorIndex::Create(vectors_->dim(), spec_.metric, kind, options);
  if (!keys.empty()) vectors->Add(keys, rows.data());
  return std::unique_ptr<SpaceIndex>(new SpaceIndex(spec_, std::move(vectors)));
}

Result<std::vector<Neighbour>> SpaceIndex::Similar(int64_t track, size_t n,
                                                   const std::vector<int64_t>* allowed) const {
  const std::vector<float> q = vectors_->Vector(track);
  if (q.empty()) {
    return NotFound(
        fmt::format("track {} has no vector in {} (not analysed, or gone)", track, spec_.name));
  }
  std::vector<int64_t> filtered;
  const std::vector<int64_t>* use = allowed;
  if (allowed != nullptr) {
    filtered.reserve(allowed->size());
    for (int64_t id : *allowed) {
      if (id != track) filtered.push_back(id);
    }
    use = &filtered;
  }
  // One more than asked, since the track finds itself first.
  auto found = vectors_->Search(q.data(), n + 1, use);
  std::vector<Neighbour> out;
  for (const auto& nb : found) {
    if (nb.key != track && out.size() < n) out.push_back(nb);
  }
  return out;
}

}  // namespace timbre::index
