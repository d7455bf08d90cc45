// Duplicate recordings through Chromaprint fingerprints: the same recording in another
// encoding, bitrate or trim aligns with a low bit-error rate; another performance of the same
// piece (other tempo, other players) does not align at all.
//
// Candidates come from an inverted index of the 32-bit sub-fingerprints (pairs sharing a few
// exact values), so a library is not compared pair by pair; each candidate is then aligned at
// the offset most shared values agree on and scored by its bit errors.
#pragma once

#include <cstdint>
#include <vector>

#include "timbre/core/status.h"
#include "timbre/store/store.h"

namespace timbre::index {

// Chromaprint produces about 8.07 sub-fingerprints per second (4096-sample frames, 1/3 hop,
// at 11025 Hz).
inline constexpr double kFingerprintItemSeconds = 4096.0 / 3.0 / 11025.0;

struct FingerprintMatch {
  double bit_error = 0.5;  // share of differing bits over the overlap (random: ~0.5)
  int offset = 0;          // items of b to skip (negative: of a) to align them
  size_t overlap = 0;      // aligned items compared
};

// Best alignment of two raw fingerprints among offsets that many shared values vote for.
FingerprintMatch CompareFingerprints(const std::vector<uint32_t>& a,
                                     const std::vector<uint32_t>& b);

struct DuplicateOptions {
  double max_bit_error = 0.15;        // copies measured <= 0.07, other recordings >= 0.30
  double min_overlap_seconds = 10.0;  // too short an overlap proves nothing
  size_t min_shared_values = 3;       // candidate threshold in the inverted index
};

struct DuplicatePair {
  int64_t a = 0;
  int64_t b = 0;
  double score = 0.0;  // 1 - 2 × bit error: 1 identical, 0 unrelated
  double offset_seconds = 0.0;
  double overlap_seconds = 0.0;
};

struct DuplicateGroup {
  std::vector<int64_t> tracks;  // sorted
  std::vector<DuplicatePair> pairs;
};

struct DuplicateReport {
  std::vector<DuplicateGroup> groups;  // largest first
  size_t fingerprints = 0;             // tracks compared
  size_t candidates = 0;               // pairs aligned
  size_t unreadable = 0;               // fingerprints that failed to decode
};

Result<DuplicateReport> FindDuplicates(store::Store& store, const DuplicateOptions& options = {});

}  // namespace timbre::index
