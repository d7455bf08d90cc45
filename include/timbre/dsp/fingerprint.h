// Acoustic fingerprints through Chromaprint (the AcoustID algorithm), kept in Chromaprint's
// compressed base64 form: a few kilobytes for two minutes of audio.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "timbre/core/status.h"

namespace timbre::dsp {

// Chromaprint works on 11025 Hz mono internally; feeding that rate skips its own resampler.
inline constexpr int kFingerprintSampleRate = 11025;

struct Fingerprint {
  std::string encoded;   // compressed, base64 (the form AcoustID accepts)
  double seconds = 0.0;  // audio that went into it
};

// Streams float audio into Chromaprint. Not thread-safe; one per track.
class Fingerprinter {
 public:
  // Only the first `max_seconds` are used (AcoustID's fpcalc default is 120 s).
  static Result<std::unique_ptr<Fingerprinter>> Create(int sample_rate, int channels,
                                                       double max_seconds);
  ~Fingerprinter();
  Fingerprinter(const Fingerprinter&) = delete;
  Fingerprinter& operator=(const Fingerprinter&) = delete;

  // Returns false once enough audio has been seen.
  bool Add(const float* interleaved, size_t frames);
  // kCorrupt-free by design: too little audio gives an empty fingerprint, not an error.
  Result<Fingerprint> Finish();

 private:
  struct Impl;
  explicit Fingerprinter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Decodes a compressed fingerprint back into Chromaprint's 32-bit sub-fingerprints.
Result<std::vector<uint32_t>> DecodeFingerprint(const std::string& encoded);

}  // namespace timbre::dsp
