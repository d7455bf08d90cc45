// index_bench [SIZES] [DIMS] [QUERIES]: the vector index on synthetic embeddings, against
// FAISS exact flat search measured in the same run.
//
//   index_bench 10000,100000,1000000 32,512 1000 [hnsw]
//
// With "hnsw" the graph is built at every size, as `timbre serve` does from 5,000 vectors.
// For each size × dimension: build time and the memory the index added, single-query
// latency p50/p99 and QPS on one thread, recall@10 against exact search, and the latency
// ratio to FAISS's flat index. timbre's index is exact (flat) while vectors × dimensions
// stays under 8 million, HNSW above; HNSW rows repeat at ¼, ½, 1 and 2 times the default
// candidate list (hnsw@EF), to show what recall each length buys.
//
// The vectors imitate learned embeddings, which occupy a low-dimensional part of their
// space: 24 latent factors drawn from a mixture of 256 clusters, mapped to D dimensions by a
// fixed random matrix, plus a little isotropic noise. Queries come from the same
// distribution and are not in the index.
#include <faiss/IndexFlat.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

#include "timbre/index/vector_index.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kLatent = 24;
constexpr int kClusters = 256;
constexpr size_t kRecallK = 10;

std::vector<size_t> ParseList(const char* text) {
  std::vector<size_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::stoull(item));
  return out;
}

double RssMiB() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0;
  size_t resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * 4096.0 / (1024.0 * 1024.0);
}

class EmbeddingSource {
 public:
  EmbeddingSource(size_t dim, uint32_t seed) : dim_(dim), rng_(seed) {
    std::normal_distribution<float> g;
    mix_.resize(dim * kLatent);
    for (auto& v : mix_) v = g(rng_) / std::sqrt(static_cast<float>(kLatent));
    centers_.resize(kClusters * kLatent);
    for (auto& v : centers_) v = g(rng_);
  }

  std::vector<float> Draw(size_t n) {
    std::normal_distribution<float> g;
    std::uniform_int_distribution<int> pick(0, kClusters - 1);
    std::vector<float> out(n * dim_);
    float z[kLatent];
    for (size_t i = 0; i < n; ++i) {
      const float* c = &centers_[static_cast<size_t>(pick(rng_)) * kLatent];
      for (int k = 0; k < kLatent; ++k) z[k] = c[k] + 0.5f * g(rng_);
      float* x = &out[i * dim_];
      for (size_t d = 0; d < dim_; ++d) {
        float s = 0.05f * g(rng_);
        for (int k = 0; k < kLatent; ++k) s += mix_[d * kLatent + k] * z[k];
        x[d] = s;
      }
    }
    return out;
  }

 private:
  size_t dim_;
  std::mt19937 rng_;
  std::vector<float> mix_;
  std::vector<float> centers_;
};

struct Latency {
  double p50_ms = 0;
  double p99_ms = 0;
  double qps = 0;
};

template <typename Fn>
Latency Time(size_t queries, Fn&& fn) {
  std::vector<double> ms;
  const auto all = Clock::now();
  for (size_t q = 0; q < queries; ++q) {
    const auto t0 = Clock::now();
    fn(q);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  const double total = std::chrono::duration<double>(Clock::now() - all).count();
  std::sort(ms.begin(), ms.end());
  auto at = [&](double p) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(p * ms.size()))];
  };
  return {at(0.50), at(0.99), static_cast<double>(queries) / total};
}

}  // namespace

int main(int argc, char** argv) {
  const auto sizes = ParseList(argc > 1 ? argv[1] : "10000,100000,1000000");
  const auto dims = ParseList(argc > 2 ? argv[2] : "32,512");
  const size_t queries = argc > 3 ? std::stoull(argv[3]) : 1000;
  const bool force_hnsw = argc > 4 && std::string(argv[4]) == "hnsw";
  const int build_threads = omp_get_max_threads();
  std::printf("%9s %4s %9s %9s %9s %9s %9s %8s %9s %9s %8s %9s\n", "vectors", "dim", "kind",
              "build_s", "mem_MiB", "p50_ms", "p99_ms", "qps", "recall10", "flat_p50", "flat_qps",
              "speedup");
  for (size_t dim : dims) {
    for (size_t n : sizes) {
      EmbeddingSource source(dim, 20261122u + static_cast<uint32_t>(dim));
      const std::vector<float> base = source.Draw(n);
      const std::vector<float> query = source.Draw(queries);
      std::vector<int64_t> keys(n);
      for (size_t i = 0; i < n; ++i) keys[i] = static_cast<int64_t>(i);

      // Reference: FAISS exact search.
      faiss::IndexFlatL2 flat(static_cast<int>(dim));
      flat.add(static_cast<faiss::Index::idx_t>(n), base.data());
      omp_set_num_threads(1);
      std::vector<std::vector<faiss::Index::idx_t>> truth(
          queries, std::vector<faiss::Index::idx_t>(kRecallK));
      std::vector<float> dist(kRecallK);
      const Latency flat_t = Time(queries, [&](size_t q) {
        flat.search(1, &query[q * dim], kRecallK, dist.data(), truth[q].data());
      });

      // timbre's index: build with every core, as a scan would; query on one.
      omp_set_num_threads(build_threads);
      timbre::index::IndexOptions options;
      const auto kind = force_hnsw ? timbre::index::IndexKind::kHnsw
                                   : timbre::index::VectorIndex::KindFor(n, dim, options);
      const double rss0 = RssMiB();
      const auto b0 = Clock::now();
      auto index =
          timbre::index::VectorIndex::Create(dim, timbre::index::Metric::kL2, kind, options);
      index->Add(keys, base.data());
      const double build_s = std::chrono::duration<double>(Clock::now() - b0).count();
      const double mem = RssMiB() - rss0;
      omp_set_num_threads(1);
      auto measure = [&](const char* label) {
        size_t hits = 0;
        const Latency t = Time(queries, [&](size_t q) {
          const auto found = index->Search(&query[q * dim], kRecallK);
          std::unordered_set<int64_t> want(truth[q].begin(), truth[q].end());
          for (const auto& f : found) hits += want.count(f.key);
        });
        const double recall = static_cast<double>(hits) / static_cast<double>(queries * kRecallK);
        std::printf("%9zu %4zu %9s %9.2f %9.1f %9.3f %9.3f %8.0f %9.4f %9.3f %8.0f %8.1fx\n", n,
                    dim, label, build_s, mem, t.p50_ms, t.p99_ms, t.qps, recall, flat_t.p50_ms,
                    flat_t.qps, flat_t.p50_ms / t.p50_ms);
        std::fflush(stdout);
      };
      const int breadth = index->search_breadth();
      if (breadth == 0) {
        measure("flat");
      } else {
        // Shorter and longer candidate lists around the default: what recall the latency buys.
        for (int ef : {breadth / 4, breadth / 2, breadth, 2 * breadth}) {
          if (ef < static_cast<int>(kRecallK)) continue;
          index->SetSearchBreadth(ef);
          measure(("hnsw@" + std::to_string(ef)).c_str());
        }
      }
      std::fflush(stdout);
    }
  }
  return 0;
}
