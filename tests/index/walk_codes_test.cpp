// The graph walk's byte codes: their distances follow the float rows' closely enough to rank
// by, for both measures, as rows are added, and whatever the rows hold.
#include "timbre/index/walk_codes.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "timbre/index/distance.h"

namespace timbre::index {
namespace {

std::vector<float> Gaussian(size_t count, size_t dim, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> out(count * dim);
  for (auto& v : out) v = g(rng);
  return out;
}

float Exact(bool inner_product, const float* q, const float* row, size_t dim) {
  return inner_product ? -InnerProduct(q, row, dim) : SquaredL2(q, row, dim);
}

// The largest gap between coded and exact distances over `queries`, as a share of the
// spread of exact distances (farthest minus nearest row).
double WorstError(const WalkCodes& codes, const std::vector<float>& rows,
                  const std::vector<float>& queries, size_t dim, bool inner_product) {
  const size_t n = rows.size() / dim;
  double worst = 0.0;
  WalkCodes::Query coded;
  for (size_t q = 0; q < queries.size() / dim; ++q) {
    codes.Prepare(&queries[q * dim], coded);
    double lo = INFINITY, hi = -INFINITY, gap = 0.0;
    for (size_t r = 0; r < n; ++r) {
      const double exact = Exact(inner_product, &queries[q * dim], &rows[r * dim], dim);
      lo = std::min(lo, exact);
      hi = std::max(hi, exact);
      gap = std::max(gap, std::abs(double{codes.Distance(coded, r)} - exact));
    }
    worst = std::max(worst, gap / (hi - lo));
  }
  return worst;
}

TEST(WalkCodesTest, CodedDistancesFollowTheRows) {
  for (size_t dim : {1u, 46u, 61u, 130u}) {
    const auto rows = Gaussian(500, dim, 1);
    const auto queries = Gaussian(20, dim, 2);
    for (bool inner_product : {false, true}) {
      WalkCodes codes;
      codes.Encode(rows.data(), 500, dim, inner_product);
      EXPECT_EQ(codes.size(), 500u);
      EXPECT_EQ(codes.stride() % 64, 0u);
      EXPECT_GE(codes.stride(), dim + 4);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(codes.Row(7)) % 64, 0u);  // rows start on a line
      // Measured: 0.002 to 0.016 of the spread, from 1 to 130 dimensions.
      EXPECT_LT(WorstError(codes, rows, queries, dim, inner_product), 0.03)
          << "dim " << dim << (inner_product ? " inner product" : " L2");
    }
  }
}

TEST(WalkCodesTest, RowsAddedLaterAreCodedAndRangesRenewed) {
  const size_t dim = 16;
  auto rows = Gaussian(400, dim, 3);
  const auto queries = Gaussian(10, dim, 4);
  WalkCodes codes;
  codes.Encode(nullptr, 0, dim, false);
  EXPECT_EQ(codes.size(), 0u);
  codes.Extend(rows.data(), 100);  // the first rows set the ranges
  EXPECT_EQ(codes.size(), 100u);
  codes.Extend(rows.data(), 150);  // within them, clamped where a value is outside
  EXPECT_EQ(codes.size(), 150u);
  const std::vector<float> kept(rows.begin(), rows.begin() + 100 * dim);
  EXPECT_LT(WorstError(codes, kept, queries, dim, false), 0.03);  // the first rows unchanged
  const std::vector<float> first(rows.begin(), rows.begin() + 150 * dim);
  const double clamped = WorstError(codes, first, queries, dim, false);
  EXPECT_LT(clamped, 0.5);
  // Rows far outside the first ranges: once the rows have doubled, all are coded again.
  for (size_t i = 150 * dim; i < rows.size(); ++i) rows[i] *= 10.0f;
  codes.Extend(rows.data(), 400);
  EXPECT_EQ(codes.size(), 400u);
  const double renewed = WorstError(codes, rows, queries, dim, false);
  EXPECT_LT(renewed, 0.03);
  EXPECT_LT(renewed, clamped);
}

TEST(WalkCodesTest, ConstantAndNonFiniteValuesGiveFiniteDistances) {
  const size_t dim = 4;
  std::vector<float> rows = {1, 2, 3, 4, 1, NAN, 3, INFINITY, 1, 2, 3, -INFINITY};
  const std::vector<float> query = {0.5f, -1.0f, 2.0f, 0.0f};
  for (bool inner_product : {false, true}) {
    WalkCodes codes;
    codes.Encode(rows.data(), 3, dim, inner_product);
    WalkCodes::Query coded;
    codes.Prepare(query.data(), coded);
    for (size_t r = 0; r < 3; ++r) EXPECT_TRUE(std::isfinite(codes.Distance(coded, r)));
    // The first row holds only finite values at the ends of each range: coded exactly.
    EXPECT_NEAR(codes.Distance(coded, 0), Exact(inner_product, query.data(), rows.data(), dim),
                1e-4);
  }
}

}  // namespace
}  // namespace timbre::index
