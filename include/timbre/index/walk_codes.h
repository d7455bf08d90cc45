// Compact copies of an HNSW graph's vectors, which its walk (graph_search.h) measures
// instead of the float rows. A row is one byte per dimension, scaled between that
// dimension's smallest and largest value, padded to whole cache lines with its squared norm
// in the last four bytes: 46 dimensions take one 64-byte line instead of three. A query
// becomes one signed byte per dimension, so a distance is one exact integer dot product
// (distance.h's CodeDot) and a few multiplications.
//
// The distances are approximate: the walk ranks by them, and the search then measures the
// nodes it kept with the float rows, so the answer's order and distances are exact.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace timbre::index {

// Storage that starts on a cache line, so that a 64-byte row is one line, not two.
template <typename T>
struct LineAligned {
  using value_type = T;
  static constexpr std::align_val_t kLine{64};
  LineAligned() = default;
  template <typename U>
  LineAligned(const LineAligned<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kLine)); }
  void deallocate(T* p, size_t) { ::operator delete(p, kLine); }
  bool operator==(const LineAligned&) const { return true; }
};

class WalkCodes {
 public:
  // What a query becomes: distance = offset + norm - factor * dot(row codes, weights).
  struct Query {
    std::vector<int8_t> weights;  // stride() bytes; zero past the dimensions
    float offset = 0.0f;
    float factor = 0.0f;
  };

  // Encodes the `count` rows of `rows` (row-major, `dim` floats each), with each dimension's
  // range taken from them. `inner_product`: distances are negated inner products, else
  // squared L2.
  void Encode(const float* rows, size_t count, size_t dim, bool inner_product);
  // The same rows with more at the end: the new ones are encoded within the ranges already
  // taken (a value outside is clamped), until the rows have doubled since then, when every
  // row is encoded again with new ranges.
  void Extend(const float* rows, size_t count);

  size_t size() const { return count_; }
  size_t stride() const { return stride_; }
  const uint8_t* Row(size_t position) const { return codes_.data() + position * stride_; }

  // `out` keeps its storage from query to query.
  void Prepare(const float* query, Query& out) const;
  float Distance(const Query& query, size_t position) const;
  // Distance() of `count` rows at once, into `out`.
  void Distances(const Query& query, const int32_t* positions, size_t count, float* out) const;

 private:
  void EncodeRows(const float* rows, size_t from, size_t to);
  // The distance of the row at `position` whose codes dot the query's weights to `dot`.
  float FromDot(const Query& query, size_t position, int32_t dot) const;

  size_t dim_ = 0;
  bool inner_product_ = false;
  size_t stride_ = 0;
  size_t count_ = 0;
  size_t ranged_from_ = 0;  // rows the ranges were taken from
  std::vector<float> low_;  // per dimension
  std::vector<float> step_;
  std::vector<uint8_t, LineAligned<uint8_t>> codes_;
};

}  // namespace timbre::index
