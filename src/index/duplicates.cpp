#include "timbre/index/duplicates.h"

#include <algorithm>
#include <bit>
#include <map>
#include <numeric>
#include <unordered_map>

#include "timbre/dsp/fingerprint.h"

namespace timbre::index {
namespace {

constexpr size_t kOffsetsTried = 3;

double BitErrorAt(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b, int offset,
                  size_t* overlap) {
  // offset > 0: b starts `offset` items into a.
  const size_t a0 = offset > 0 ? static_cast<size_t>(offset) : 0;
  const size_t b0 = offset < 0 ? static_cast<size_t>(-offset) : 0;
  if (a0 >= a.size() || b0 >= b.size()) {
    *overlap = 0;
    return 0.5;
  }
  const size_t n = std::min(a.size() - a0, b.size() - b0);
  size_t errors = 0;
  for (size_t i = 0; i < n; ++i) errors += std::popcount(a[a0 + i] ^ b[b0 + i]);
  *overlap = n;
  return static_cast<double>(errors) / (32.0 * static_cast<double>(n));
}

// Union-find over track ids, for grouping pairs.
class Groups {
 public:
  int64_t Find(int64_t x) {
    auto it = parent_.find(x);
    if (it == parent_.end()) {
      parent_[x] = x;
      return x;
    }
    if (it->second == x) return x;
    const int64_t root = Find(it->second);
    parent_[x] = root;
    return root;
  }
  void Join(int64_t a, int64_t b) { parent_[Find(a)] = Find(b); }

 private:
  std::unordered_map<int64_t, int64_t> parent_;
};

}  // namespace

FingerprintMatch CompareFingerprints(const std::vector<uint32_t>& a,
                                     const std::vector<uint32_t>& b) {
  FingerprintMatch best;
  if (a.empty() || b.empty()) return best;
  // Offsets voted for by equal values; a value repeated often (silence) votes little.
  std::unordered_map<uint32_t, std::vector<int>> where;
  for (size_t i = 0; i < a.size(); ++i) where[a[i]].push_back(static_cast<int>(i));
  std::map<int, double> votes;
  for (size_t j = 0; j < b.size(); ++j) {
    auto it = where.find(b[j]);
    if (it == where.end() || it->second.size() > 16) continue;
    const double weight = 1.0 / static_cast<double>(it->second.size());
    for (int i : it->second) votes[i - static_cast<int>(j)] += weight;
  }
  std::vector<std::pair<double, int>> ranked;
  for (const auto& [offset, v] : votes) ranked.emplace_back(v, offset);
  std::sort(ranked.rbegin(), ranked.rend());
  if (ranked.empty()) ranked.emplace_back(0.0, 0);
  for (size_t r = 0; r < ranked.size() && r < kOffsetsTried; ++r) {
    size_t overlap = 0;
    const double ber = BitErrorAt(a, b, ranked[r].second, &overlap);
    if (overlap > 0 && ber < best.bit_error) best = {ber, ranked[r].second, overlap};
  }
  return best;
}

Result<DuplicateReport> FindDuplicates(store::Store& store, const DuplicateOptions& options) {
  auto encoded = store.TextOutputs("fingerprint", "chromaprint");
  if (!encoded.ok()) return encoded.status();
  DuplicateReport report;
  std::vector<int64_t> ids;
  std::vector<std::vector<uint32_t>> prints;
  for (const auto& t : *encoded) {
    auto raw = dsp::DecodeFingerprint(t.value);
    if (!raw.ok() || raw->empty()) {
      ++report.unreadable;
      continue;
    }
    ids.push_back(t.track_id);
    prints.push_back(std::move(raw).value());
  }
  report.fingerprints = ids.size();

  // Inverted index: value -> tracks holding it (each track once per value).
  std::unordered_map<uint32_t, std::vector<uint32_t>> postings;
  for (size_t t = 0; t < prints.size(); ++t) {
    std::vector<uint32_t> values = prints[t];
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    for (uint32_t v : values) postings[v].push_back(static_cast<uint32_t>(t));
  }
  // A value most tracks share (digital silence) says nothing about a pair.
  const size_t common = std::max<size_t>(16, prints.size() / 50);
  std::unordered_map<uint64_t, uint32_t> shared;
  for (const auto& [value, tracks] : postings) {
    if (tracks.size() < 2 || tracks.size() > common) continue;
    for (size_t i = 0; i < tracks.size(); ++i) {
      for (size_t j = i + 1; j < tracks.size(); ++j) {
        ++shared[(static_cast<uint64_t>(tracks[i]) << 32) | tracks[j]];
      }
    }
  }

  Groups groups;
  std::vector<DuplicatePair> pairs;
  const size_t min_overlap =
      static_cast<size_t>(options.min_overlap_seconds / kFingerprintItemSeconds);
  for (const auto& [key, count] : shared) {
    if (count < options.min_shared_values) continue;
    const size_t i = key >> 32;
    const size_t j = key & 0xffffffffu;
    ++report.candidates;
    const FingerprintMatch m = CompareFingerprints(prints[i], prints[j]);
    if (m.overlap < min_overlap || m.bit_error > options.max_bit_error) continue;
    DuplicatePair p;
    p.a = std::min(ids[i], ids[j]);
    p.b = std::max(ids[i], ids[j]);
    p.score = std::clamp(1.0 - 2.0 * m.bit_error, 0.0, 1.0);
    p.offset_seconds = (ids[i] < ids[j] ? m.offset : -m.offset) * kFingerprintItemSeconds;
    p.overlap_seconds = static_cast<double>(m.overlap) * kFingerprintItemSeconds;
    pairs.push_back(p);
    groups.Join(p.a, p.b);
  }

  std::map<int64_t, DuplicateGroup> by_root;
  std::sort(pairs.begin(), pairs.end(), [](const DuplicatePair& x, const DuplicatePair& y) {
    return std::tie(x.a, x.b) < std::tie(y.a, y.b);
  });
  for (const auto& p : pairs) {
    DuplicateGroup& g = by_root[groups.Find(p.a)];
    g.pairs.push_back(p);
    g.tracks.push_back(p.a);
    g.tracks.push_back(p.b);
  }
  for (auto& [root, g] : by_root) {
    std::sort(g.tracks.begin(), g.tracks.end());
    g.tracks.erase(std::unique(g.tracks.begin(), g.tracks.end()), g.tracks.end());
    report.groups.push_back(std::move(g));
  }
  std::stable_sort(report.groups.begin(), report.groups.end(),
                   [](const DuplicateGroup& x, const DuplicateGroup& y) {
                     return x.tracks.size() > y.tracks.size();
                   });
  return report;
}

}  // namespace timbre::index
