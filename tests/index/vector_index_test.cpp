// The FAISS-backed vector index: exact and HNSW search, filters, removal, persistence.
#include "timbre/index/vector_index.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "test_support.h"
#include "timbre/index/scaler.h"
#include "timbre/index/timbre_v1.h"

namespace timbre::index {
namespace {

using timbre::testing::TempDir;

// Points on a 6-dimensional latent structure embedded in `dim` dimensions, around 64
// centres, as learned embeddings are: near neighbours exist and are well separated.
std::vector<float> Random(size_t n, size_t dim, uint32_t seed) {
  constexpr size_t kLatent = 6;
  std::mt19937 rng(seed);
  std::mt19937 fixed(7);  // the same embedding for every call, so queries match the data
  std::normal_distribution<float> g;
  std::vector<float> mix(dim * kLatent);
  for (auto& v : mix) v = g(fixed);
  std::vector<float> centres(64 * kLatent);
  for (auto& v : centres) v = g(fixed);
  std::vector<float> out(n * dim);
  std::uniform_int_distribution<size_t> pick(0, 63);
  for (size_t i = 0; i < n; ++i) {
    const size_t c = pick(rng);
    float z[kLatent];
    for (size_t k = 0; k < kLatent; ++k) z[k] = centres[c * kLatent + k] + 0.3f * g(rng);
    for (size_t d = 0; d < dim; ++d) {
      float s = 0.01f * g(rng);
      for (size_t k = 0; k < kLatent; ++k) s += mix[d * kLatent + k] * z[k];
      out[i * dim + d] = s;
    }
  }
  return out;
}

std::vector<int64_t> Keys(size_t n, int64_t first = 1) {
  std::vector<int64_t> k(n);
  for (size_t i = 0; i < n; ++i) k[i] = first + static_cast<int64_t>(i);
  return k;
}

// Options that choose HNSW from `cells` (vectors × dimensions) on.
IndexOptions HnswFrom(size_t cells) {
  IndexOptions o;
  o.exact_below_cells = cells;
  return o;
}

TEST(VectorIndexTest, ExactSearchFindsTheNearestInOrder) {
  const std::vector<float> v = {0, 0, 1, 0, 3, 0, 10, 0};
  auto index = VectorIndex::Create(2, Metric::kL2, IndexKind::kFlat, {});
  index->Add(std::vector<int64_t>{10, 11, 12, 13}, v.data());
  const float q[2] = {2.9f, 0.0f};
  auto found = index->Search(q, 3);
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].key, 12);
  EXPECT_NEAR(found[0].distance, 0.1f, 1e-5f);
  EXPECT_EQ(found[1].key, 11);
  EXPECT_NEAR(found[1].distance, 1.9f, 1e-5f);
  EXPECT_EQ(found[2].key, 10);
  EXPECT_EQ(index->Search(q, 10).size(), 4u);  // never more than there are
  EXPECT_TRUE(index->Search(q, 0).empty());
}

TEST(VectorIndexTest, CosineIgnoresLength) {
  const std::vector<float> v = {1, 0, 0, 5, 3, 3};
  auto index = VectorIndex::Create(2, Metric::kCosine, IndexKind::kFlat, {});
  index->Add(std::vector<int64_t>{1, 2, 3}, v.data());
  const float q[2] = {10, 10};
  auto found = index->Search(q, 3);
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].key, 3);
  EXPECT_NEAR(found[0].distance, 0.0f, 1e-5f);
  EXPECT_NEAR(found[1].distance, 1.0f - std::sqrt(0.5f), 1e-5f);
}

// The graph walk under both measures: cosine walks it with negated inner products, and each
// distance it reports must be the one exact search gives for the same track.
TEST(VectorIndexTest, HnswRecallAgainstExact) {
  const size_t n = 4000, dim = 24;
  const auto data = Random(n, dim, 1);
  const auto queries = Random(100, dim, 2);
  for (Metric metric : {Metric::kL2, Metric::kCosine}) {
    auto index = VectorIndex::Create(dim, metric, IndexKind::kHnsw, HnswFrom(100));
    index->Add(Keys(n), data.data());
    size_t hits = 0;
    for (size_t q = 0; q < 100; ++q) {
      const auto exact = index->SearchExact(&queries[q * dim], 10);
      const auto approx = index->Search(&queries[q * dim], 10);
      ASSERT_EQ(approx.size(), 10u);
      std::unordered_map<int64_t, float> want;
      for (const auto& e : exact) want[e.key] = e.distance;
      for (size_t i = 0; i < approx.size(); ++i) {
        if (i > 0) {
          EXPECT_LE(approx[i - 1].distance, approx[i].distance);
        }
        auto it = want.find(approx[i].key);
        if (it == want.end()) continue;
        ++hits;
        EXPECT_NEAR(approx[i].distance, it->second, 1e-4f * (1.0f + it->second));
      }
    }
    EXPECT_GE(static_cast<double>(hits) / 1000.0, 0.95) << MetricName(metric);
  }
}

// Without a filter the walk keeps one sorted list; with one it keeps two heaps. Given every
// key as the filter, the heaps' walk must expand the same nodes and return the same answer.
TEST(VectorIndexTest, UnfilteredAndAllAllowedWalksAgree) {
  const size_t n = 3000, dim = 16;
  const auto data = Random(n, dim, 5);
  const auto queries = Random(60, dim, 6);
  const std::vector<int64_t> every = Keys(n);
  for (Metric metric : {Metric::kL2, Metric::kCosine}) {
    auto index = VectorIndex::Create(dim, metric, IndexKind::kHnsw, HnswFrom(100));
    index->Add(Keys(n), data.data());
    for (size_t q = 0; q < 60; ++q) {
      const auto plain = index->Search(&queries[q * dim], 10);
      const auto filtered = index->Search(&queries[q * dim], 10, &every);
      ASSERT_EQ(plain.size(), 10u);
      ASSERT_EQ(plain.size(), filtered.size());
      for (size_t i = 0; i < plain.size(); ++i) {
        EXPECT_EQ(plain[i].key, filtered[i].key) << MetricName(metric) << " query " << q;
        EXPECT_EQ(plain[i].distance, filtered[i].distance);
      }
    }
  }
}

// Points with no low-dimensional structure make HNSW work for its recall, so the length of
// its candidate list shows: a walk that ignored the options would score the same with both.
TEST(VectorIndexTest, CandidateListFollowsTheOptions) {
  const size_t n = 4000, dim = 24;
  std::mt19937 rng(11);
  std::normal_distribution<float> g;
  std::vector<float> data(n * dim), queries(50 * dim);
  for (auto& v : data) v = g(rng);
  for (auto& v : queries) v = g(rng);
  auto recall = [&](int ef) {
    IndexOptions o = HnswFrom(1);
    o.ef_search = ef;
    auto index = VectorIndex::Create(dim, Metric::kL2, IndexKind::kHnsw, o);
    index->Add(Keys(n), data.data());
    size_t hits = 0;
    for (size_t q = 0; q < 50; ++q) {
      std::unordered_set<int64_t> want;
      for (const auto& e : index->SearchExact(&queries[q * dim], 10)) want.insert(e.key);
      for (const auto& a : index->Search(&queries[q * dim], 10)) hits += want.count(a.key);
    }
    return static_cast<double>(hits) / 500.0;
  };
  const double narrow = recall(10);
  const double wide = recall(400);
  // Measured: 0.81 with 10 candidates, 1.00 with 400.
  EXPECT_GE(wide, 0.98) << narrow;
  EXPECT_GT(wide, narrow + 0.04) << narrow << " vs " << wide;
}

TEST(VectorIndexTest, FilteredSearchReturnsEveryMatchUpToK) {
  // The allowed tracks are the farthest from the query: a search that filtered a short
  // candidate list afterwards would return nothing.
  const size_t n = 3000, dim = 8;
  std::vector<float> data(n * dim, 0.0f);
  for (size_t i = 0; i < n; ++i) data[i * dim] = static_cast<float>(i);
  for (IndexKind kind : {IndexKind::kFlat, IndexKind::kHnsw}) {
    auto index = VectorIndex::Create(dim, Metric::kL2, kind, HnswFrom(10));
    index->Add(Keys(n, 0), data.data());
    const std::vector<float> q(dim, 0.0f);
    for (size_t allowed_count : {3u, 40u, 400u}) {
      std::vector<int64_t> allowed;
      for (size_t i = 0; i < allowed_count; ++i) allowed.push_back(static_cast<int64_t>(n - 1 - i));
      auto found = index->Search(q.data(), 10, &allowed);
      ASSERT_EQ(found.size(), std::min<size_t>(10, allowed_count))
          << IndexKindName(kind) << " " << allowed_count;
      // Nearest allowed first: the smallest allowed coordinate.
      EXPECT_EQ(found[0].key, static_cast<int64_t>(n - allowed_count));
      for (const auto& f : found) EXPECT_GE(f.key, static_cast<int64_t>(n - allowed_count));
    }
    const std::vector<int64_t> none = {static_cast<int64_t>(n + 5)};
    EXPECT_TRUE(index->Search(q.data(), 10, &none).empty());
  }
}

TEST(VectorIndexTest, RemoveAndReplaceLeaveTombstones) {
  const std::vector<float> v = {0, 1, 2, 3};
  for (IndexKind kind : {IndexKind::kFlat, IndexKind::kHnsw}) {
    auto index = VectorIndex::Create(1, Metric::kL2, kind, HnswFrom(1));
    index->Add(std::vector<int64_t>{1, 2, 3, 4}, v.data());
    index->Remove(std::vector<int64_t>{1, 99});
    EXPECT_EQ(index->size(), 3u);
    EXPECT_EQ(index->tombstones(), 1u);
    EXPECT_FALSE(index->Contains(1));
    const float moved = 10.0f;
    index->Add(std::vector<int64_t>{2}, &moved);  // replaced: a new position, old one dead
    EXPECT_EQ(index->size(), 3u);
    EXPECT_EQ(index->tombstones(), 2u);
    EXPECT_EQ(index->Vector(2), std::vector<float>{10.0f});
    const float q = 0.0f;
    auto found = index->Search(&q, 3);
    ASSERT_EQ(found.size(), 3u) << IndexKindName(kind);
    EXPECT_EQ(found[0].key, 3);
    EXPECT_EQ(found[2].key, 2);
    EXPECT_EQ(index->Keys(), (std::vector<int64_t>{3, 4, 2}));
  }
}

TEST(VectorIndexTest, WritesAndReadsBack) {
  TempDir dir;
  const size_t n = 500, dim = 6;
  const auto data = Random(n, dim, 3);
  for (IndexKind kind : {IndexKind::kFlat, IndexKind::kHnsw}) {
    auto index = VectorIndex::Create(dim, Metric::kCosine, kind, HnswFrom(10));
    index->Add(Keys(n), data.data());
    index->Remove(std::vector<int64_t>{7});
    const auto path = dir / "v.bin";
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_TRUE(index->Write(f).ok());
    std::fclose(f);
    f = std::fopen(path.c_str(), "rb");
    auto back = VectorIndex::Read(f, HnswFrom(10));
    std::fclose(f);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ((*back)->kind(), kind);
    EXPECT_EQ((*back)->metric(), Metric::kCosine);
    EXPECT_EQ((*back)->size(), n - 1);
    EXPECT_FALSE((*back)->Contains(7));
    const auto a = index->Search(&data[0], 5);
    const auto b = (*back)->Search(&data[0], 5);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].key, b[i].key);
  }
}

TEST(VectorIndexTest, DamagedFilesAreRefused) {
  TempDir dir;
  auto index = VectorIndex::Create(4, Metric::kL2, IndexKind::kFlat, {});
  const std::vector<float> v(40, 1.0f);
  index->Add(Keys(10), v.data());
  const auto path = dir / "v.bin";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_TRUE(index->Write(f).ok());
  std::fclose(f);
  const auto size = std::filesystem::file_size(path);
  for (size_t keep : {size_t{0}, size_t{5}, size_t{40}, size / 2, size - 3}) {
    std::filesystem::resize_file(path, keep);
    f = std::fopen(path.c_str(), "rb");
    auto back = VectorIndex::Read(f, {});
    std::fclose(f);
    EXPECT_FALSE(back.ok()) << keep;
    if (!back.ok()) {
      EXPECT_EQ(back.status().code(), StatusCode::kCorrupt) << keep;
    }
  }
}

// Searches walk the HNSW graph themselves, so a graph read from a damaged file must be
// refused rather than walked: four bytes overwritten at every 37th position of the file
// (links, levels, offsets, sizes, vectors) either fail to read as corrupt, or read into an
// index that searches without leaving its arrays (which ASan checks).
TEST(VectorIndexTest, DamagedGraphsAreRefusedOrSafe) {
  TempDir dir;
  const size_t n = 300, dim = 8;
  const auto data = Random(n, dim, 5);
  auto index = VectorIndex::Create(dim, Metric::kL2, IndexKind::kHnsw, HnswFrom(1));
  index->Add(Keys(n), data.data());
  const auto path = dir / "g.bin";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_TRUE(index->Write(f).ok());
  std::fclose(f);
  std::vector<char> good(std::filesystem::file_size(path));
  f = std::fopen(path.c_str(), "rb");
  ASSERT_EQ(std::fread(good.data(), 1, good.size(), f), good.size());
  std::fclose(f);

  size_t refused = 0, read = 0;
  for (size_t at = 0; at + 4 <= good.size(); at += 37) {
    for (uint32_t pattern : {0x7fff0000u, 0xfffffff0u}) {
      std::vector<char> bad = good;
      std::memcpy(bad.data() + at, &pattern, 4);
      f = std::fopen(path.c_str(), "wb");
      std::fwrite(bad.data(), 1, bad.size(), f);
      std::fclose(f);
      f = std::fopen(path.c_str(), "rb");
      auto back = VectorIndex::Read(f, {});
      std::fclose(f);
      if (!back.ok()) {
        EXPECT_EQ(back.status().code(), StatusCode::kCorrupt) << at;
        ++refused;
        continue;
      }
      ++read;
      for (size_t q = 0; q < 3; ++q) EXPECT_LE((*back)->Search(&data[q * dim], 5).size(), 5u);
    }
  }
  // Both happen: most of the file is vectors and keys, whose damage reads.
  EXPECT_GT(refused, 0u);
  EXPECT_GT(read, 0u);
}

TEST(FeatureScalerTest, RobustCentreSpreadClipAndMissingValues) {
  std::vector<std::vector<float>> rows;
  for (int i = 0; i < 101; ++i) rows.push_back({static_cast<float>(i), 5.0f});
  rows.push_back({1e6f, 5.0f});  // an outlier moves neither the centre nor the spread much
  const auto s = FeatureScaler::Fit(rows, {1.0f, 2.0f});
  EXPECT_NEAR(s.center[0], 51.0f, 1.0f);
  EXPECT_NEAR(s.scale[0], 1.4826f * 25.5f, 1.0f);
  EXPECT_EQ(s.fitted_rows, 102u);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> raw = {1e6f, nan};
  const auto out = s.Apply(raw);
  EXPECT_FLOAT_EQ(out[0], FeatureScaler::kClip);  // clipped
  EXPECT_FLOAT_EQ(out[1], 0.0f);                  // missing lands on the centre
  // A constant feature keeps scale 1 and contributes nothing.
  EXPECT_FLOAT_EQ(s.scale[1], 1.0f);
}

TEST(TimbreV1Test, VectorFromDescriptors) {
  EXPECT_FALSE(TimbreV1Vector({{"rhythm.bpm", 120.0}}).has_value());
  std::map<std::string, double> numbers = {{"spectral.mfcc_mean_1", 2.0}, {"rhythm.bpm", 120.0}};
  auto v = TimbreV1Vector(numbers);
  ASSERT_TRUE(v.has_value());
  ASSERT_EQ(v->size(), TimbreV1Features().size());
  size_t finite = 0;
  for (size_t i = 0; i < v->size(); ++i) {
    if (std::isfinite((*v)[i])) ++finite;
    if (TimbreV1Features()[i].source == "rhythm.bpm") {
      EXPECT_NEAR((*v)[i], std::log(120.0), 1e-5);
    }
  }
  EXPECT_EQ(finite, 2u);
  double total = 0;
  for (const auto& g : TimbreV1Groups()) total += g.weight;
  EXPECT_NEAR(total, 1.0, 1e-9);
}

}  // namespace
}  // namespace timbre::index
