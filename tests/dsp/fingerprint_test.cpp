#include "timbre/dsp/fingerprint.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <random>

namespace timbre::dsp {
namespace {

// A melody of random notes: enough structure for Chromaprint's chroma features.
std::vector<float> Melody(unsigned seed, double seconds, int rate) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> note(48, 84);
  std::vector<float> out(static_cast<size_t>(seconds * rate));
  double freq = 440;
  double phase = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (i % (rate / 4) == 0) freq = 440.0 * std::pow(2.0, (note(rng) - 69) / 12.0);
    phase += 2 * 3.14159265358979 * freq / rate;
    out[i] = static_cast<float>(0.3 * std::sin(phase) + 0.1 * std::sin(2 * phase));
  }
  return out;
}

Fingerprint Print(const std::vector<float>& audio, int rate, double max_seconds = 120) {
  auto fp = Fingerprinter::Create(rate, 1, max_seconds);
  EXPECT_TRUE(fp.ok());
  for (size_t i = 0; i < audio.size(); i += 4096) {
    if (!(*fp)->Add(audio.data() + i, std::min<size_t>(4096, audio.size() - i))) break;
  }
  auto r = (*fp)->Finish();
  EXPECT_TRUE(r.ok());
  return *r;
}

int BitErrors(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  int errors = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) errors += std::popcount(a[i] ^ b[i]);
  return errors;
}

TEST(FingerprintTest, SameAudioSameFingerprintOtherAudioDiffers) {
  const auto a = Melody(1, 20, kFingerprintSampleRate);
  const auto b = Melody(2, 20, kFingerprintSampleRate);
  const Fingerprint fa = Print(a, kFingerprintSampleRate);
  const Fingerprint fa2 = Print(a, kFingerprintSampleRate);
  const Fingerprint fb = Print(b, kFingerprintSampleRate);
  ASSERT_FALSE(fa.encoded.empty());
  EXPECT_EQ(fa.encoded, fa2.encoded);
  auto ra = DecodeFingerprint(fa.encoded);
  auto rb = DecodeFingerprint(fb.encoded);
  ASSERT_TRUE(ra.ok() && rb.ok());
  ASSERT_GT(ra->size(), 100u);  // ~8 sub-fingerprints per second
  // Unrelated audio differs in about half of its bits.
  EXPECT_GT(BitErrors(*ra, *rb), static_cast<int>(ra->size() * 32 / 4));
  EXPECT_NEAR(fa.seconds, 20.0, 0.01);
}

TEST(FingerprintTest, StopsAtMaxSeconds) {
  const auto a = Melody(3, 30, kFingerprintSampleRate);
  const Fingerprint f = Print(a, kFingerprintSampleRate, 12);
  EXPECT_NEAR(f.seconds, 12.0, 0.01);
}

TEST(FingerprintTest, TooShortGivesEmptyFingerprint) {
  const Fingerprint f = Print(Melody(4, 0.2, kFingerprintSampleRate), kFingerprintSampleRate);
  EXPECT_TRUE(f.encoded.empty());
}

TEST(FingerprintTest, InvalidInput) {
  EXPECT_FALSE(Fingerprinter::Create(0, 1, 120).ok());
  EXPECT_FALSE(Fingerprinter::Create(11025, 0, 120).ok());
  EXPECT_FALSE(Fingerprinter::Create(11025, 1, 0).ok());
  EXPECT_FALSE(DecodeFingerprint("not a fingerprint!").ok());
}

}  // namespace
}  // namespace timbre::dsp
