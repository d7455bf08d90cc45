#include "timbre/index/walk_codes.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "timbre/index/distance.h"

namespace timbre::index {

void WalkCodes::Encode(const float* rows, size_t count, size_t dim, bool inner_product) {
  dim_ = dim;
  inner_product_ = inner_product;
  stride_ = (dim + sizeof(float) + 63) / 64 * 64;  // codes, padding, the norm: whole lines
  low_.assign(dim, 0.0f);
  step_.assign(dim, 0.0f);
  for (size_t d = 0; d < dim; ++d) {
    float lo = INFINITY, hi = -INFINITY;
    for (size_t r = 0; r < count; ++r) {
      const float v = rows[r * dim + d];
      if (!std::isfinite(v)) continue;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    if (lo > hi) continue;  // no finite value: every code is 0 at 0
    low_[d] = lo;
    step_[d] = (hi - lo) / 255.0f;
  }
  ranged_from_ = count;
  codes_.clear();
  EncodeRows(rows, 0, count);
}

void WalkCodes::Extend(const float* rows, size_t count) {
  if (count <= count_) return;
  if (count >= 2 * ranged_from_) return Encode(rows, count, dim_, inner_product_);
  EncodeRows(rows, count_, count);
}

void WalkCodes::EncodeRows(const float* rows, size_t from, size_t to) {
  codes_.resize(to * stride_, 0);
  for (size_t r = from; r < to; ++r) {
    uint8_t* out = codes_.data() + r * stride_;
    float norm = 0.0f;  // of the row the codes stand for, so that L2 distances agree
    for (size_t d = 0; d < dim_; ++d) {
      const float v = rows[r * dim_ + d];
      float code = 0.0f;
      if (step_[d] > 0.0f && std::isfinite(v)) {
        code = std::clamp(std::round((v - low_[d]) / step_[d]), 0.0f, 255.0f);
      }
      out[d] = static_cast<uint8_t>(code);
      const float decoded = low_[d] + step_[d] * code;
      norm += decoded * decoded;
    }
    std::memcpy(out + stride_ - sizeof(float), &norm, sizeof(float));
  }
  count_ = to;
}

void WalkCodes::Prepare(const float* query, Query& out) const {
  // query . row = sum q.low + sum (q * step) . code; the second sum is weights . code times
  // a scale that puts the largest weight at 127.
  out.weights.assign(stride_, 0);
  float base = 0.0f, largest = 0.0f, square = 0.0f;
  for (size_t d = 0; d < dim_; ++d) {
    base += query[d] * low_[d];
    largest = std::max(largest, std::abs(query[d] * step_[d]));
    square += query[d] * query[d];
  }
  const float scale = largest > 0.0f ? largest / 127.0f : 0.0f;
  if (scale > 0.0f) {
    for (size_t d = 0; d < dim_; ++d) {
      out.weights[d] = static_cast<int8_t>(std::lround(query[d] * step_[d] / scale));
    }
  }
  if (inner_product_) {  // -(query . row)
    out.offset = -base;
    out.factor = scale;
  } else {  // |query|^2 - 2 query . row + |row|^2
    out.offset = square - 2.0f * base;
    out.factor = 2.0f * scale;
  }
}

float WalkCodes::FromDot(const Query& query, size_t position, int32_t dot) const {
  float norm = 0.0f;
  if (!inner_product_) std::memcpy(&norm, Row(position) + stride_ - sizeof(float), sizeof(float));
  return query.offset + norm - query.factor * static_cast<float>(dot);
}

float WalkCodes::Distance(const Query& query, size_t position) const {
  return FromDot(query, position, CodeDot(Row(position), query.weights.data(), stride_));
}

void WalkCodes::Distances(const Query& query, const int32_t* positions, size_t count,
                          float* out) const {
  constexpr size_t kBatch = 64;  // a bottom-level neighbour list, usually in one go
  int32_t dots[kBatch];
  for (size_t from = 0; from < count; from += kBatch) {
    const size_t n = std::min(kBatch, count - from);
    CodeDots(codes_.data(), stride_, positions + from, n, query.weights.data(), dots);
    for (size_t i = 0; i < n; ++i) {
      out[from + i] = FromDot(query, static_cast<size_t>(positions[from + i]), dots[i]);
    }
  }
}

}  // namespace timbre::index
