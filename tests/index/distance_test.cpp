// The distance kernels: every kernel set this processor runs, against a double-precision sum,
// over the lengths that exercise each vector step and tail.
#include "timbre/index/distance.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace timbre::index {
namespace {

std::vector<DistanceIsa> RunnableIsas() {
  std::vector<DistanceIsa> out = {DistanceIsa::kScalar};
  const DistanceIsa best = BestDistanceIsa();
  if (best == DistanceIsa::kAvx2 || best == DistanceIsa::kAvx512) out.push_back(DistanceIsa::kAvx2);
  if (best == DistanceIsa::kAvx512) out.push_back(DistanceIsa::kAvx512);
  return out;
}

TEST(DistanceTest, EveryKernelMatchesADoubleSumAtEveryLength) {
  std::mt19937 rng(3);
  std::normal_distribution<float> g;
  for (size_t dim = 0; dim <= 70; ++dim) {
    // One spare value on each side, so a kernel that reads past its row would read a NaN.
    std::vector<float> a(dim + 2, std::nanf("")), b(dim + 2, std::nanf(""));
    double l2 = 0, ip = 0, scale = 0;
    for (size_t i = 1; i <= dim; ++i) {
      a[i] = g(rng);
      b[i] = g(rng);
      l2 += (double{a[i]} - b[i]) * (double{a[i]} - b[i]);
      ip += double{a[i]} * b[i];
      scale += std::abs(double{a[i]} * b[i]) + 1;
    }
    for (DistanceIsa isa : RunnableIsas()) {
      SCOPED_TRACE(testing::Message() << "dim " << dim << ", kernel set " << static_cast<int>(isa));
      EXPECT_NEAR(SquaredL2With(isa, a.data() + 1, b.data() + 1, dim), l2, 1e-5 * (l2 + 1));
      EXPECT_NEAR(InnerProductWith(isa, a.data() + 1, b.data() + 1, dim), ip, 1e-5 * scale);
    }
    EXPECT_EQ(SquaredL2(a.data() + 1, b.data() + 1, dim),
              SquaredL2With(BestDistanceIsa(), a.data() + 1, b.data() + 1, dim));
  }
}

TEST(DistanceTest, AVectorIsAtDistanceZeroFromItself) {
  std::vector<float> v(46);
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.25f * static_cast<float>(i) - 3.0f;
  for (DistanceIsa isa : RunnableIsas()) {
    EXPECT_EQ(SquaredL2With(isa, v.data(), v.data(), v.size()), 0.0f);
  }
}

// Byte codes are summed exactly, so every kernel gives the scalar loop's integer, down to
// the extremes (255 x -128 in every byte) and whatever the row's alignment.
TEST(DistanceTest, EveryCodeKernelGivesTheExactSum) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 255);
  for (size_t bytes : {64u, 128u, 192u}) {
    for (int pattern = 0; pattern < 3; ++pattern) {
      std::vector<uint8_t> codes(bytes + 1);
      std::vector<int8_t> weights(bytes + 1);
      int64_t want = 0;
      for (size_t i = 1; i <= bytes; ++i) {
        codes[i] = pattern == 0 ? 255 : static_cast<uint8_t>(byte(rng));
        weights[i] = pattern == 0 ? -128 : static_cast<int8_t>(byte(rng) - 128);
        if (pattern == 2 && i % 2 == 0) weights[i] = 127;
        want += int64_t{codes[i]} * weights[i];
      }
      for (DistanceIsa isa : RunnableIsas()) {
        SCOPED_TRACE(testing::Message() << bytes << " bytes, pattern " << pattern << ", kernel set "
                                        << static_cast<int>(isa));
        EXPECT_EQ(CodeDotWith(isa, codes.data() + 1, weights.data() + 1, bytes), want);
      }
      EXPECT_EQ(CodeDot(codes.data() + 1, weights.data() + 1, bytes), want);
    }
  }
}

// A batch of rows, at every count around the 16 rows the VNNI kernel reduces together and
// at strides of one and two lines: each row's dot equals the scalar loop's.
TEST(DistanceTest, CodeRowsInBatchesMatchOneByOne) {
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> byte(0, 255);
  for (size_t stride : {64u, 128u}) {
    std::vector<uint8_t> table(50 * stride);
    for (auto& b : table) b = static_cast<uint8_t>(byte(rng));
    std::vector<int8_t> weights(stride);
    for (auto& w : weights) w = static_cast<int8_t>(byte(rng) - 128);
    std::vector<int32_t> rows(40);
    for (auto& r : rows) r = std::uniform_int_distribution<int32_t>(0, 49)(rng);
    for (size_t count = 0; count <= rows.size(); ++count) {
      for (DistanceIsa isa : RunnableIsas()) {
        std::vector<int32_t> out(count + 1, -7);
        CodeDotsWith(isa, table.data(), stride, rows.data(), count, weights.data(), out.data());
        for (size_t i = 0; i < count; ++i) {
          const uint8_t* row = table.data() + static_cast<size_t>(rows[i]) * stride;
          ASSERT_EQ(out[i], CodeDotWith(DistanceIsa::kScalar, row, weights.data(), stride))
              << "stride " << stride << ", count " << count << ", row " << i << ", kernel set "
              << static_cast<int>(isa);
        }
        EXPECT_EQ(out[count], -7);  // nothing written past the batch
      }
    }
  }
}

}  // namespace
}  // namespace timbre::index
