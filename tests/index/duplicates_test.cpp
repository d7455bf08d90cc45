// Fingerprint alignment: shifted, bit-flipped copies align; unrelated prints do not.
#include "timbre/index/duplicates.h"

#include <gtest/gtest.h>

#include <random>

namespace timbre::index {
namespace {

std::vector<uint32_t> RandomPrint(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint32_t> v(n);
  for (auto& x : v) x = rng();
  return v;
}

// A copy that starts `skip` items later, with each bit flipped with probability `p`.
std::vector<uint32_t> Degraded(const std::vector<uint32_t>& a, size_t skip, double p,
                               uint32_t seed) {
  std::mt19937 rng(seed);
  std::bernoulli_distribution flip(p);
  std::vector<uint32_t> out(a.begin() + static_cast<std::ptrdiff_t>(skip), a.end());
  for (auto& x : out) {
    for (int b = 0; b < 32; ++b) {
      if (flip(rng)) x ^= (1u << b);
    }
  }
  return out;
}

TEST(FingerprintMatchTest, AlignsATrimmedNoisyCopy) {
  const auto a = RandomPrint(900, 1);
  const auto b = Degraded(a, 40, 0.03, 2);
  const auto m = CompareFingerprints(a, b);
  EXPECT_EQ(m.offset, 40);
  EXPECT_EQ(m.overlap, 860u);
  EXPECT_NEAR(m.bit_error, 0.03, 0.01);
  const auto back = CompareFingerprints(b, a);  // the other way round
  EXPECT_EQ(back.offset, -40);
  EXPECT_NEAR(back.bit_error, 0.03, 0.01);
}

TEST(FingerprintMatchTest, UnrelatedPrintsLookRandom) {
  const auto m = CompareFingerprints(RandomPrint(900, 3), RandomPrint(900, 4));
  EXPECT_GT(m.bit_error, 0.4);
  const auto empty = CompareFingerprints({}, RandomPrint(10, 5));
  EXPECT_EQ(empty.overlap, 0u);
  EXPECT_DOUBLE_EQ(empty.bit_error, 0.5);
}

}  // namespace
}  // namespace timbre::index
